package scenarios

import (
	"math/rand/v2"
	"time"
)

// Retry is a client retry policy for failed appends: every real client
// retries, and an outage looks different through one that does (commit
// latency grows instead of appends failing). A retried append carries the
// same event IDs, so stores that deduplicate by ID store it once.
type Retry struct {
	// Attempts is the total number of tries, the first included (>= 1;
	// 1 means no retry). Default 5.
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the wait before the first retry; it doubles per retry up
	// to MaxBackoff. Default 100ms.
	Backoff Duration `yaml:"backoff,omitempty" json:"backoff,omitempty"`
	// MaxBackoff caps the wait between tries. Default 10 × Backoff, at
	// most 5s but never below Backoff.
	MaxBackoff Duration `yaml:"max_backoff,omitempty" json:"max_backoff,omitempty"`
	// Deadline bounds the whole append from its first try; 0 = no bound
	// but Attempts.
	Deadline Duration `yaml:"deadline,omitempty" json:"deadline,omitempty"`
}

// Retry defaults.
const (
	DefaultRetryAttempts = 5
	DefaultRetryBackoff  = Duration(100 * time.Millisecond)
)

func applyRetryDefaults(s *Scenario) {
	r := s.Load.Retry
	if r == nil {
		return
	}
	if r.Attempts == 0 && !s.isSet("load.retry.attempts") {
		r.Attempts = DefaultRetryAttempts
	}
	if r.Backoff == 0 && !s.isSet("load.retry.backoff") {
		r.Backoff = DefaultRetryBackoff
	}
	if r.MaxBackoff == 0 && !s.isSet("load.retry.max_backoff") {
		r.MaxBackoff = max(r.Backoff, min(10*r.Backoff, Duration(5*time.Second)))
	}
}

// Wait is how long to wait before try number attempt+1 (attempt >= 1 tries
// made so far): exponential backoff with "equal jitter" (half fixed, half
// random), so clients that failed together do not retry in lockstep, yet
// never retry at once.
func (r *Retry) Wait(attempt int) time.Duration {
	d := r.Backoff.D()
	for i := 1; i < attempt && d < r.MaxBackoff.D(); i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff.D())
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

func validateRetry(p *problems, s *Scenario) {
	r := s.Load.Retry
	if r == nil {
		return
	}
	if r.Attempts < 1 {
		p.add("load.retry.attempts", "%d; need at least 1 try (1 = no retry), e.g. attempts: 5", r.Attempts)
	}
	if r.Backoff <= 0 {
		p.add("load.retry.backoff", "%s must be > 0; write e.g. 100ms", r.Backoff)
	}
	if r.MaxBackoff < r.Backoff {
		p.add("load.retry.max_backoff", "%s is below backoff %s; write at least %s, e.g. 1s", r.MaxBackoff, r.Backoff, r.Backoff)
	}
	switch {
	case r.Deadline < 0:
		p.add("load.retry.deadline", "%s is negative; write e.g. 10s, or remove it to bound retries by attempts only", r.Deadline)
	case r.Deadline > 0 && r.Deadline < r.Backoff:
		p.add("load.retry.deadline", "%s is shorter than one backoff (%s), so no retry could happen; write at least %s, e.g. 10s", r.Deadline, r.Backoff, r.Backoff)
	}
}
