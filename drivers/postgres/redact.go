package postgres

import (
	"net/url"
	"strings"
)

// redactErr returns err's text with any password from dsn masked: pgx's
// messages are careful, but a wrapped dial error may echo a URL.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	u, perr := url.Parse(dsn)
	if perr != nil {
		return msg
	}
	var secrets []string
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for _, k := range []string{"password", "sslpassword"} {
		if v := u.Query().Get(k); v != "" {
			secrets = append(secrets, v, url.QueryEscape(v))
		}
	}
	for _, s := range secrets {
		if len(s) > 0 {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// hasParam reports whether dsn's query sets name.
func hasParam(dsn, name string) bool {
	u, err := url.Parse(dsn)
	return err == nil && u.Query().Has(name)
}
