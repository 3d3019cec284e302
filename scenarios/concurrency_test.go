package scenarios

import (
	"strings"
	"testing"
)

// withConcurrency puts line into base's events section.
func withConcurrency(line string) string {
	return strings.Replace(base, "  batch: 1\n", "  batch: 1\n  concurrency: "+line+"\n", 1)
}

func TestConcurrencyValidation(t *testing.T) {
	cases := []struct {
		section, extra, want string
	}{
		{"{expected_version: true, writers_per_key: 4}", "", ""},
		{"{expected_version: true, writers_per_key: 4, max_retries: 0}", "", ""},
		{"{expected_version: false, writers_per_key: 4}", "", "events.concurrency.expected_version: false; set expected_version: true"},
		{"{expected_version: true, writers_per_key: 0}", "", "events.concurrency.writers_per_key: 0; need 1..255"},
		{"{expected_version: true, writers_per_key: 256}", "", "events.concurrency.writers_per_key: 256; need 1..255"},
		{"{expected_version: true, max_retries: -1}", "", "events.concurrency.max_retries: -1 is negative"},
		{"{expected_version: true, writers: 4}", "", `unknown field "writers"`},
		{"{expected_version: true}", "outbox: {dsn: postgres://x/y}\n", "outbox: cannot be combined with events.concurrency"},
	}
	for _, c := range cases {
		err := parseAndValidate("campaign.yaml", withConcurrency(c.section)+c.extra)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.section, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.section, err, c.want)
		case err != nil && strings.Count(err.Error(), "\n") > 0:
			t.Errorf("%s: more than one line: %v", c.section, err)
		}
	}
}

func TestConcurrencyDefaults(t *testing.T) {
	s, err := Parse("c.yaml", []byte(withConcurrency("{expected_version: true}")))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Events.Concurrency
	if c.WritersPerKey != DefaultWritersPerKey || c.MaxRetries != DefaultMaxRetries || !s.UsesExpectedVersion() {
		t.Fatalf("defaults: %+v", c)
	}
	s, err = Parse("c.yaml", []byte(withConcurrency("{expected_version: true, max_retries: 0}")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Events.Concurrency.MaxRetries != 0 {
		t.Fatalf("an explicit max_retries: 0 became %d", s.Events.Concurrency.MaxRetries)
	}
	none, _ := Parse("n.yaml", []byte(base))
	if none.UsesExpectedVersion() {
		t.Fatal("no concurrency section, yet UsesExpectedVersion")
	}
}
