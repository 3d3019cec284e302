package drivers

import "net/url"

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
