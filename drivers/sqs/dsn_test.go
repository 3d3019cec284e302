package sqs

import "testing"

// TestParseDSNParamErrors pins the query parameters' error texts (the
// rest of ParseDSN is covered in sqs_test.go).
func TestParseDSNParamErrors(t *testing.T) {
	const base = "sqs://us-east-1/evbench.fifo?"
	for _, tc := range []struct{ query, want string }{
		{"bogus=1", `sqs: DSN parameter "bogus" is unknown; known: emulator, endpoint, sns, visibility_timeout, wait`},
		{"wait=1&wait=2", `sqs: DSN parameter "wait" is given 2 times; give it once`},
		{"wait=21", `sqs: DSN parameter wait="21": want long-poll seconds from 0 to 20`},
		{"visibility_timeout=0", `sqs: DSN parameter visibility_timeout="0": want seconds from 1 to 43200`},
		{"emulator=on", `sqs: DSN parameter emulator="on": want true or false`},
		{"endpoint=127.0.0.1:4100", `sqs: DSN parameter endpoint="127.0.0.1:4100": want a URL, e.g. http://127.0.0.1:4100`},
		{"sns=maybe", `sqs: DSN parameter sns="maybe": want true or false`},
		{"sns=true", "sqs: DSN parameter sns=true: SNS fan-out (one FIFO queue per projector) is not built yet; run with one projector and no sns parameter"},
	} {
		if _, err := ParseDSN(base + tc.query); err == nil || err.Error() != tc.want {
			t.Errorf("ParseDSN(%q) = %v; want %q", base+tc.query, err, tc.want)
		}
	}
	cfg, err := ParseDSN(base + "wait=0&visibility_timeout=43200&sns=false&emulator=true&endpoint=http://127.0.0.1:4100")
	if err != nil || cfg.Wait != 0 || cfg.Visibility != 43200 || !cfg.Emulator || cfg.Endpoint != "http://127.0.0.1:4100" {
		t.Errorf("every parameter: %+v, %v", cfg, err)
	}
}
