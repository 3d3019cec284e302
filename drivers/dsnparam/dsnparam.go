// Package dsnparam walks the query parameters of a driver's DSN
// ("nats://h:4222?stream=S&replicas=3") so that every driver refuses the
// same mistakes with the same one-line messages:
//
//   - an unknown name: `nats: DSN parameter "strem" is unknown; known: ack_timeout, ...`
//     (a typo must never fall back to a default silently);
//   - a name given more than once: `nats: DSN parameter "stream" is given 2 times; give it once`
//     (url.Values keeps every value, and which one a driver used was an accident);
//   - a bad value: `nats: DSN parameter replicas="9": want a replica count from 1 to 5`.
//
// A driver describes its parameters once in a Spec and parses the values in
// a switch inside Spec.Walk, with the typed parsers of Param (values.go)
// for the common shapes and Param.Bad for its own checks. Walk visits the
// names in sorted order, so of several mistakes the same one is reported
// every time.
package dsnparam

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Spec is the set of query parameters one driver's DSN accepts.
type Spec struct {
	// Driver prefixes every error ("nats" gives "nats: DSN parameter ...").
	Driver string
	// Names are the accepted parameter names.
	Names []string
	// Help optionally describes parameters for the unknown-name error,
	// which then lists "name (description)". Its keys are accepted names
	// too, so a driver that documents every parameter can leave Names
	// empty.
	Help map[string]string
}

// Param is one query parameter: its name and its only value.
type Param struct {
	Driver string // error prefix, from Spec.Driver
	Name   string
	Value  string
}

// Walk calls fn for each parameter of q in sorted name order and returns
// the first error: an unknown name or a repeated one (checked as each name
// comes up, before fn sees it), or fn's. fn is called only for known names,
// so its switch needs no default case; a known name fn does not handle is
// accepted and left alone (kafka leaves its TLS and SASL parameters to
// parseSecurity that way).
func (s Spec) Walk(q url.Values, fn func(Param) error) error {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !s.known(k) {
			return fmt.Errorf("%s: DSN parameter %q is unknown; known: %s", s.Driver, k, s.KnownList())
		}
		if n := len(q[k]); n != 1 {
			// The values are not shown: one may be a secret (kafka's token=).
			return fmt.Errorf("%s: DSN parameter %q is given %d times; give it once", s.Driver, k, n)
		}
		if err := fn(Param{Driver: s.Driver, Name: k, Value: q[k][0]}); err != nil {
			return err
		}
	}
	return nil
}

// known reports whether name is in Names or Help.
func (s Spec) known(name string) bool {
	if _, ok := s.Help[name]; ok {
		return true
	}
	for _, n := range s.Names {
		if n == name {
			return true
		}
	}
	return false
}

// KnownList is the accepted names, sorted and comma-separated, each
// followed by its Help description in parentheses when it has one: the
// tail of the unknown-name error.
func (s Spec) KnownList() string {
	seen := make(map[string]bool, len(s.Names)+len(s.Help))
	names := make([]string, 0, len(s.Names)+len(s.Help))
	for _, n := range s.Names {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for n := range s.Help {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		if h, ok := s.Help[n]; ok {
			names[i] = n + " (" + h + ")"
		}
	}
	return strings.Join(names, ", ")
}
