package sqs

import (
	"strings"
	"testing"
)

// TestParseDSNParamErrors pins the query parameters' error texts (the
// rest of ParseDSN is covered in sqs_test.go).
func TestParseDSNParamErrors(t *testing.T) {
	const base = "sqs://us-east-1/evbench.fifo?"
	for _, tc := range []struct{ query, want string }{
		{"bogus=1", `sqs: DSN parameter "bogus" is unknown; known: emulator, endpoint, sns, subscribers, topic, visibility_timeout, wait`},
		{"wait=1&wait=2", `sqs: DSN parameter "wait" is given 2 times; give it once`},
		{"wait=21", `sqs: DSN parameter wait="21": want long-poll seconds from 0 to 20`},
		{"visibility_timeout=0", `sqs: DSN parameter visibility_timeout="0": want seconds from 1 to 43200`},
		{"emulator=on", `sqs: DSN parameter emulator="on": want true or false`},
		{"endpoint=127.0.0.1:4100", `sqs: DSN parameter endpoint="127.0.0.1:4100": want a URL, e.g. http://127.0.0.1:4100`},
		{"sns=maybe", `sqs: DSN parameter sns="maybe": want true or false`},
		{"sns=true&subscribers=0", `sqs: DSN parameter subscribers="0": want subscriber queues (one per projector) from 1 to 100`},
		{"sns=true&subscribers=101", `sqs: DSN parameter subscribers="101": want subscriber queues (one per projector) from 1 to 100`},
		{"sns=true&topic=plain", `sqs: DSN parameter topic="plain": want an SNS FIFO topic name ending in .fifo (letters, digits, - and _), e.g. evbench.fifo`},
		{"subscribers=2", `sqs: DSN "sqs://us-east-1/evbench.fifo?subscribers=2": subscribers= configures SNS fan-out and needs sns=true; add sns=true or drop it`},
		{"topic=t.fifo&sns=false", `sqs: DSN "sqs://us-east-1/evbench.fifo?topic=t.fifo&sns=false": topic= configures SNS fan-out and needs sns=true; add sns=true or drop it`},
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

// TestParseDSNFanout: sns=true derives the topic from the queue name unless
// topic= names it, names the subscriber queues <base>-p<i>.fifo, and
// refuses a base too long for the last queue name.
func TestParseDSNFanout(t *testing.T) {
	cfg, err := ParseDSN("sqs://us-east-1/evbench.fifo?sns=true")
	if err != nil || !cfg.SNS || cfg.Topic != "evbench.fifo" || cfg.Subscribers != 1 || strings.Join(cfg.SubscriberQueues(), ",") != "evbench-p0.fifo" {
		t.Errorf("sns=true defaults: %+v %v, %v", cfg, cfg.SubscriberQueues(), err)
	}
	cfg, err = ParseDSN("sqs://us-east-1/orders.fifo?sns=true&topic=events.fifo&subscribers=3")
	if err != nil || cfg.Topic != "events.fifo" || strings.Join(cfg.SubscriberQueues(), ",") != "orders-p0.fifo,orders-p1.fifo,orders-p2.fifo" {
		t.Errorf("topic= and subscribers=3: %+v %v, %v", cfg, cfg.SubscriberQueues(), err)
	}
	if cfg, _ := ParseDSN("sqs://us-east-1/evbench.fifo"); cfg.SNS || cfg.Topic != "" {
		t.Errorf("no sns: %+v", cfg)
	}
	long := strings.Repeat("q", 72) // 72 + "-p10.fifo" = 81 > 80; "-p9.fifo" = 80 fits
	if _, err := ParseDSN("sqs://us-east-1/" + long + ".fifo?sns=true&subscribers=10"); err != nil {
		t.Errorf("subscriber queue of exactly 80 characters refused: %v", err)
	}
	_, err = ParseDSN("sqs://us-east-1/" + long + ".fifo?sns=true&subscribers=11")
	if err == nil || !strings.Contains(err.Error(), "longer than SQS's 80 characters; shorten the queue name") {
		t.Errorf("81-character subscriber queue: %v; want a refusal", err)
	}
}
