package drivers

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file is the one place evbench decides what in a DSN is secret and
// how it is hidden. Every driver, the chaos layer (--toxiproxy), the runner
// and the CLI use it; no package keeps its own redaction.
//
// What counts as a secret in a DSN:
//   - the password of a URL's userinfo (user:PASSWORD@host); for nats:// a
//     user without a password too, since NATS reads nats://TOKEN@host as a
//     token;
//   - the value of every password-like parameter, in a URL query or in the
//     libpq keyword=value form (see IsSecretParam);
//   - a URL's fragment (#...), which no DSN uses and which is what a
//     password with an unescaped '#' turns into;
//   - for a DSN that does not parse, the whole userinfo: everything between
//     "://" and the last "@".

// Mask replaces every secret.
const Mask = "xxxxx"

// UnparsableDSN is what RedactDSN returns for a DSN it cannot parse and in
// which it cannot locate the userinfo: nothing of the input is echoed.
const UnparsableDSN = "<unparsable DSN, redacted>"

// minSecretLen is the shortest secret Scrub replaces wherever it occurs in
// a text. A shorter one (and one that also occurs in the DSN's public parts,
// such as password == user name) is masked only in DSN syntax (":pw@",
// "=pw" followed by a delimiter) and inside verbatim copies of the DSN:
// masking every "ab" or every "postgres" of an error message would garble it
// while protecting nothing a three-letter password did not already give away.
const minSecretLen = 4

// secretParamParts mark a parameter as secret when its normalised name
// (lower case, without '_', '-' and '.') contains one of them.
var secretParamParts = []string{"password", "passwd", "passphrase", "secret", "token", "apikey", "credential", "privatekey"}

// secretParamNames are normalised names that are secret on their own.
var secretParamNames = map[string]bool{
	"pass": true, "pwd": true, "pw": true, "auth": true, "authorization": true,
	"key": true, "nkey": true, "seed": true, "sig": true, "signature": true,
}

// IsSecretParam reports whether a DSN parameter of this name holds a secret:
// password, pass, passwd, pwd, sslpassword, sasl_password, key_password,
// secret, client_secret, token, auth_token, api_key, nkey, seed, ... Case and
// the separators '_', '-', '.' are ignored. Paths to key files (sslkey,
// sslcert, passfile) are not secrets and stay visible.
func IsSecretParam(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(name))
	if secretParamNames[n] {
		return true
	}
	for _, p := range secretParamParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// RedactDSN returns dsn with every secret replaced by Mask, for logs, error
// messages and result.json. Everything else is kept byte for byte (but for
// a DSN that does not parse), so the host, port, database and parameters
// still tell what was measured:
//
//	postgres://u:s3cret@db:5432/test?sslpassword=k  ->  postgres://u:xxxxx@db:5432/test?sslpassword=xxxxx
//	host=db password='s 3' user=u                   ->  host=db password=xxxxx user=u
//	kafka://u:pw@[::1                               ->  kafka://xxxxx@[::1   (does not parse: whole userinfo)
//	u:pw@host                                       ->  <unparsable DSN, redacted>
//
// It never returns the input verbatim when the input may hold a secret.
func RedactDSN(dsn string) string {
	return parseSecrets(dsn).redacted
}

// Scrub returns text with every secret of dsn masked, for error messages
// and log lines that may echo a DSN or part of it (a driver library's error,
// a URL in a wrapped net/http error). A verbatim copy of dsn becomes
// RedactDSN(dsn); then each secret is replaced raw, URL-escaped
// (url.QueryEscape, url.PathEscape and the userinfo escaping) and as it
// appears inside a %q-quoted string. A secret shorter than 4 characters,
// or one the DSN's public parts also contain, is masked only in DSN syntax
// (see minSecretLen).
func Scrub(text, dsn string) string {
	if dsn == "" || text == "" {
		return text
	}
	p := parseSecrets(dsn)
	if p.redacted != dsn {
		text = strings.ReplaceAll(text, dsn, p.redacted)
	}
	for _, f := range p.forms() {
		if f.strong {
			text = strings.ReplaceAll(text, f.s, Mask)
		} else {
			text = contextual(text, f.s)
		}
	}
	return text
}

// ScrubError returns err with its message scrubbed of dsn's secrets (see
// Scrub), or err itself when its message holds none. The result unwraps to
// err, so errors.Is and errors.As keep working; whoever prints an unwrapped
// inner error must scrub it again.
func ScrubError(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if s := Scrub(msg, dsn); s != msg {
		return &scrubbedError{msg: s, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// ParseReason returns why url.Parse rejected a DSN without the DSN itself
// (a *url.Error quotes its input verbatim, password included), for
// messages that show the DSN through RedactDSN: "missing ']' in host".
func ParseReason(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// The process-wide registry: the CLI registers the secrets of every DSN and
// URL it was given once, at start, and scrubs everything it prints with
// ScrubAll. It is the last line of defence for text no driver scrubbed (a
// library's log line, an error wrapped far from the DSN).
var (
	registryMu sync.RWMutex
	secretDSNs []string
)

// RegisterSecretsOf adds dsn's secrets to the process-wide set ScrubAll
// masks. A DSN without secrets, or one already registered, is ignored.
// Safe for concurrent use.
func RegisterSecretsOf(dsn string) {
	if dsn == "" {
		return
	}
	if p := parseSecrets(dsn); len(p.secrets) == 0 && p.redacted == dsn {
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if !slices.Contains(secretDSNs, dsn) {
		secretDSNs = append(secretDSNs, dsn)
	}
}

// ScrubAll returns text scrubbed of the secrets of every DSN registered
// with RegisterSecretsOf. With none registered it returns text at once.
func ScrubAll(text string) string {
	registryMu.RLock()
	dsns := secretDSNs
	registryMu.RUnlock()
	for _, d := range dsns {
		text = Scrub(text, d)
	}
	return text
}

// forgetSecrets empties the registry (tests).
func forgetSecrets() {
	registryMu.Lock()
	secretDSNs = nil
	registryMu.Unlock()
}

// dsnSecrets is a DSN taken apart: its redacted form and its secrets (as
// written in the DSN and decoded).
type dsnSecrets struct {
	redacted string
	secrets  []string
}

// add records a secret as written in the DSN and decoded both ways (a
// userinfo keeps '+', a query reads it as a space): a decoding that does
// not apply only masks a string nobody prints.
func (p *dsnSecrets) add(raw string) {
	cands := []string{raw}
	if u, err := url.PathUnescape(raw); err == nil {
		cands = append(cands, u)
	}
	if u, err := url.QueryUnescape(raw); err == nil {
		cands = append(cands, u)
	}
	for _, s := range cands {
		if s != "" && s != Mask && !slices.Contains(p.secrets, s) {
			p.secrets = append(p.secrets, s)
		}
	}
}

// unescape decodes a query key, or returns it as written.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// form is one spelling of a secret to look for in a text.
type form struct {
	s      string
	strong bool // replaced wherever it occurs
}

// forms lists every spelling of every secret, longest first, so a long
// secret is masked before a shorter one that is part of it.
func (p *dsnSecrets) forms() []form {
	var out []form
	seen := map[string]bool{}
	for _, s := range p.secrets {
		strong := len(s) >= minSecretLen && !strings.Contains(p.redacted, s)
		ui := strings.TrimPrefix(url.UserPassword("u", s).String(), "u:")
		quoted := strconv.Quote(s)
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s), ui, quoted[1 : len(quoted)-1]} {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, form{v, strong})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b form) int { return len(b.s) - len(a.s) })
	return out
}

// contextual masks a weak secret s in text only where DSN syntax surrounds
// it: ":s@" (userinfo), "=s" or "= 's'" followed by a delimiter
// (parameters).
func contextual(text, s string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, s)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		j := i
		if j > 0 && text[j-1] == '\'' {
			j--
		}
		for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t') {
			j--
		}
		k := i + len(s)
		if k < len(text) && text[k] == '\'' {
			k++
		}
		before := j > 0 && (text[j-1] == ':' || text[j-1] == '=')
		after := k == len(text) || strings.IndexByte("@&;, \t\r\n\"')]#/", text[k]) >= 0
		b.WriteString(text[:i])
		if before && after {
			b.WriteString(Mask)
		} else {
			b.WriteString(s)
		}
		text = text[i+len(s):]
	}
}

// kvStart recognises the libpq keyword=value form: it starts with a keyword
// and "=", with no "://" before.
var kvStart = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_.-]*\s*=`)

// parseSecrets takes dsn apart. The three shapes: keyword=value, a URL that
// parses, and anything else.
func parseSecrets(dsn string) dsnSecrets {
	var p dsnSecrets
	switch {
	case dsn == "":
		return p
	case kvStart.MatchString(dsn):
		p.redacted = p.keywordValue(dsn)
		return p
	}
	sep := strings.Index(dsn, "://")
	u, err := url.Parse(dsn)
	if err == nil && u.Opaque == "" && !atOutsideAuthority(dsn, sep) {
		p.redacted = p.parsedURL(dsn, sep, u.Scheme)
		return p
	}
	at := strings.LastIndex(dsn, "@")
	switch {
	case at < 0:
		// No userinfo anywhere: only parameters can hold a secret.
		p.redacted = p.tail(dsn)
	case sep >= 0 && at >= sep+3:
		p.tail(dsn[sep+3 : at]) // collect parameters swallowed by the mask
		p.add(dsn[sep+3 : at])
		if c := strings.IndexByte(dsn[sep+3:at], ':'); c >= 0 {
			p.add(dsn[sep+3+c+1 : at])
		}
		p.redacted = dsn[:sep+3] + Mask + p.tail(dsn[at:])
	default:
		// "u:pw@host" and the like: the userinfo cannot be told apart.
		p.tail(dsn[:at])
		p.add(dsn[:at])
		if c := strings.IndexByte(dsn[:at], ':'); c >= 0 {
			p.add(dsn[c+1 : at])
		}
		p.redacted = UnparsableDSN
	}
	return p
}

// atOutsideAuthority reports an "@" after the authority: what a password
// with an unescaped '/', '?' or '#' looks like when the part before it
// still parses as host:port (postgres://u:12/b@host, kafka://u:0?a=b@h).
// Such a DSN is masked as unparsable, from "://" to the last "@"; the price
// is that a legitimate "@" in a parameter (?application_name=me@corp) hides
// the host too.
func atOutsideAuthority(dsn string, sep int) bool {
	rest := dsn
	if sep >= 0 {
		rest = dsn[sep+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return sep < 0 && strings.Contains(dsn, "@")
	}
	return strings.Contains(rest[end:], "@")
}

// parsedURL masks a URL that url.Parse accepted, in place.
func (p *dsnSecrets) parsedURL(dsn string, sep int, scheme string) string {
	if sep < 0 {
		return p.tail(dsn)
	}
	head, rest := dsn[:sep+3], dsn[sep+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		ui, host := auth[:at], auth[at:]
		if c := strings.IndexByte(ui, ':'); c >= 0 {
			p.add(ui[c+1:])
			ui = ui[:c+1] + Mask
		} else if ui != "" && (strings.EqualFold(scheme, "nats") || strings.EqualFold(scheme, "tls")) {
			p.add(ui) // nats://TOKEN@host, tls://TOKEN@host (NATS over TLS)
			ui = Mask
		}
		auth = ui + host
	}
	return head + auth + p.tail(tail)
}

// tail masks the secret parameters of the query and the fragment of s,
// which starts anywhere before them ("/db?x=1#f", "?x=1", "host?x=1").
func (p *dsnSecrets) tail(s string) string {
	frag, hasFrag := "", false
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, frag, hasFrag = s[:i], s[i+1:], true
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		s = s[:q+1] + p.query(s[q+1:])
	}
	if hasFrag {
		if frag != "" {
			p.add(frag)
			frag = Mask
		}
		s += "#" + frag
	}
	return s
}

// query masks the values of secret parameters in a raw query, keeping the
// rest (order, escaping, separators) as written.
func (p *dsnSecrets) query(raw string) string {
	pairs := strings.Split(raw, "&")
	for i, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || !IsSecretParam(unescape(k)) {
			continue
		}
		p.add(v)
		pairs[i] = k + "=" + Mask
	}
	return strings.Join(pairs, "&")
}

// keywordValue masks the secret values of a libpq keyword=value DSN
// (values bare or single-quoted, backslash escapes), keeping the rest as
// written. Past a syntax error it cannot follow, it masks the rest of the
// string if a secret keyword appears in it.
func (p *dsnSecrets) keywordValue(s string) string {
	var b strings.Builder
	i := 0
	space := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' }
	for i < len(s) {
		start := i
		for i < len(s) && space(s[i]) {
			i++
		}
		ks := i
		for i < len(s) && s[i] != '=' && !space(s[i]) {
			i++
		}
		key := s[ks:i]
		for i < len(s) && space(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '=' || key == "" {
			b.WriteString(p.maskRest(s[start:]))
			return b.String()
		}
		i++
		for i < len(s) && space(s[i]) {
			i++
		}
		b.WriteString(s[start:i])
		vs := i
		var val strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if IsSecretParam(key) && (!closed || (i < len(s) && !space(s[i]))) {
				// An unterminated quote, or text glued to the closing one
				// ('it''s'): libpq would fail here, and where the value ends
				// is unclear, so all the rest is taken as the value.
				p.add(s[vs:])
				p.add(s[vs+1:])
				b.WriteString(Mask)
				return b.String()
			}
		} else {
			for i < len(s) && !space(s[i]) {
				if s[i] == '\\' && i+1 < len(s) {
					val.WriteByte(s[i+1])
					i += 2
					continue
				}
				val.WriteByte(s[i])
				i++
			}
		}
		if IsSecretParam(key) && i > vs {
			p.add(s[vs:i])
			if s[vs] == '\'' {
				p.add(strings.TrimSuffix(s[vs+1:i], "'"))
			}
			p.add(val.String())
			b.WriteString(Mask)
		} else {
			b.WriteString(s[vs:i])
		}
	}
	return b.String()
}

// anyKeyword finds every "keyword =" in malformed keyword=value text.
var anyKeyword = regexp.MustCompile(`([A-Za-z0-9_.-]+)\s*=`)

// maskRest masks s from the first secret keyword's "=" on.
func (p *dsnSecrets) maskRest(s string) string {
	for _, m := range anyKeyword.FindAllStringSubmatchIndex(s, -1) {
		if IsSecretParam(s[m[2]:m[3]]) {
			if rest := strings.TrimSpace(s[m[1]:]); rest != "" {
				p.add(rest)
			}
			return s[:m[1]] + Mask
		}
	}
	return s
}
