package drivers

import (
	"net/url"
	"strings"
)

// RedactDSN masks the password of a URL-shaped DSN and any query parameter
// named password, so DSNs can be logged and written to result.json.
func RedactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	q := u.Query()
	changed := false
	for _, k := range []string{"password", "pass", "sasl_password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Redact applies the registration's redaction or RedactDSN.
func (r Registration) RedactDSN(dsn string) string {
	if r.Redact != nil {
		return r.Redact(dsn)
	}
	return RedactDSN(dsn)
}

// Scrub returns text with every secret of dsn masked (the password of its
// userinfo and of password-like query parameters, raw and escaped), for
// error messages and log lines that may echo a DSN.
func Scrub(text, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return text
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		text = strings.ReplaceAll(text, pw, "xxxxx")
	}
	return text
}
