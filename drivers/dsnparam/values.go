package dsnparam

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The parsers below store into *dst only when the value is valid, and
// otherwise return Bad(want): a failed parse leaves the default in place.
// want is the caller's own wording ("a replica count from 1 to 5") because
// the error texts are a public contract that tests and scripts match.

// Bad is the error for a value the parameter does not accept:
// `<driver>: DSN parameter <name>="<value>": want <want>`.
func (p Param) Bad(want string) error {
	return fmt.Errorf("%s: DSN parameter %s=%q: want %s", p.Driver, p.Name, p.Value, want)
}

// Duration parses a positive duration with a unit ("10s"; a bare "10" is
// refused, since seconds and milliseconds are both plausible).
func (p Param) Duration(dst *time.Duration, want string) error {
	d, err := time.ParseDuration(p.Value)
	if err != nil || d <= 0 {
		return p.Bad(want)
	}
	*dst = d
	return nil
}

// DurationIn parses a duration with a unit from lo to hi inclusive (lo 0
// admits "0s"; hi math.MaxInt64 means no upper bound).
func (p Param) DurationIn(dst *time.Duration, lo, hi time.Duration, want string) error {
	d, err := time.ParseDuration(p.Value)
	if err != nil || d < lo || d > hi {
		return p.Bad(want)
	}
	*dst = d
	return nil
}

// Int parses a whole decimal number from lo to hi inclusive (hi
// math.MaxInt for "at least lo").
func (p Param) Int(dst *int, lo, hi int, want string) error {
	n, err := strconv.Atoi(p.Value)
	if err != nil || n < lo || n > hi {
		return p.Bad(want)
	}
	*dst = n
	return nil
}

// Bool parses what strconv.ParseBool accepts (true, false, 1, 0, t, f, ...);
// the error wants "true or false".
func (p Param) Bool(dst *bool) error {
	b, err := strconv.ParseBool(p.Value)
	if err != nil {
		return p.Bad("true or false")
	}
	*dst = b
	return nil
}

// OneOf accepts exactly one of options (case-sensitive); the error lists
// them as "a, b or c".
func (p Param) OneOf(dst *string, options ...string) error {
	for _, o := range options {
		if p.Value == o {
			*dst = o
			return nil
		}
	}
	return p.Bad(orList(options))
}

// orList writes options as "a", "a or b", "a, b or c".
func orList(options []string) string {
	if len(options) < 2 {
		return strings.Join(options, "")
	}
	return strings.Join(options[:len(options)-1], ", ") + " or " + options[len(options)-1]
}
