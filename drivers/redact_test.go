package drivers

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"no secret", "kafka://127.0.0.1:9092,h2:9092?topic=t", "kafka://127.0.0.1:9092,h2:9092?topic=t"},
		{"userinfo password", "postgres://u:s3cret@db:5432/test?schema=x", "postgres://u:xxxxx@db:5432/test?schema=x"},
		{"escaped password", "postgres://u:p%40ss%2Fw%3A@db/test", "postgres://u:xxxxx@db/test"},
		{"empty password", "postgres://u:@db/test", "postgres://u:xxxxx@db/test"},
		{"user only", "kafka://u@h:1", "kafka://u@h:1"},
		{"nats token", "nats://tok3n@h:4222?stream=S", "nats://xxxxx@h:4222?stream=S"},
		{"nats token over TLS", "tls://tok3n@h:4222?stream=S", "tls://xxxxx@h:4222?stream=S"},
		{"nats user and password", "nats://u:pw@a:1,b:2", "nats://u:xxxxx@a:1,b:2"},
		{"query password", "postgres://u@db/test?password=s3cret&sslmode=disable", "postgres://u@db/test?password=xxxxx&sslmode=disable"},
		{"query secrets, any case", "x://h/?PassWord=a&SSLPassword=b&sasl_password=c&token=d&key_password=e&client_secret=f&api-key=g&pass=h&passwd=i&pwd=j&auth_token=k&nkey=l&topic=t",
			"x://h/?PassWord=xxxxx&SSLPassword=xxxxx&sasl_password=xxxxx&token=xxxxx&key_password=xxxxx&client_secret=xxxxx&api-key=xxxxx&pass=xxxxx&passwd=xxxxx&pwd=xxxxx&auth_token=xxxxx&nkey=xxxxx&topic=t"},
		{"escaped key", "x://h/?pass%77ord=s3cret", "x://h/?pass%77ord=xxxxx"},
		{"key file paths stay", "postgres://db/test?sslkey=/k.pem&sslcert=/c.pem&passfile=/p", "postgres://db/test?sslkey=/k.pem&sslcert=/c.pem&passfile=/p"},
		{"fragment is a password tail", "kafka://h:1?password=ab#cd", "kafka://h:1?password=xxxxx#xxxxx"},
		{"toxiproxy URL", "http://u:pw@127.0.0.1:8474/", "http://u:xxxxx@127.0.0.1:8474/"},
		{"memory", "memory://", "memory://"},
		{"at in a query value hides the host", "postgres://h/db?application_name=me@corp", "postgres://xxxxx@corp"},
		{"digits and ? in password", "kafka://u:0?a=b@h", "kafka://xxxxx@h"},
		{"raw slash in password, parses", "postgres://u:12/b@host/db", "postgres://xxxxx@host/db"},
		{"raw hash in password", "postgres://u:pa#ss@host/db", "postgres://xxxxx@host/db"},
		{"unparsable, userinfo", "kafka://u:pw@[::1", "kafka://xxxxx@[::1"},
		{"unparsable, query secret", "kafka://u:pw@[::1?password=p2", "kafka://xxxxx@[::1?password=xxxxx"},
		{"unparsable, no userinfo", "kafka://[::1?topic=t&password=p", "kafka://[::1?topic=t&password=xxxxx"},
		{"unparsable port", "refstore://u:pw@127.0.0.1:port", "refstore://xxxxx@127.0.0.1:port"},
		{"no scheme, userinfo", "u:pw@host:1", UnparsableDSN},
		{"no scheme, at", "pw@host", UnparsableDSN},
		{"host:port", "127.0.0.1:4222", "127.0.0.1:4222"},
		{"kv", "host=db password=s3cret user=u", "host=db password=xxxxx user=u"},
		{"kv quoted", `host=db password='s 3\'c' user=u`, "host=db password=xxxxx user=u"},
		{"kv spaces around =", "host=db sslpassword = k dbname=x", "host=db sslpassword = xxxxx dbname=x"},
		{"kv unterminated quote", "host=db password='s 3 user=u", "host=db password=xxxxx"},
		{"kv text after the quote", "host=db password='it''s s3cret' user=u", "host=db password=xxxxx"},
		{"kv syntax error before password", "host=db bogus password=s3", "host=db bogus password=xxxxx"},
		{"kv no secret", "host=db user=u", "host=db user=u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RedactDSN(tc.in); got != tc.want {
				t.Errorf("RedactDSN(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	const pw = `p@ss/w rd+"1`
	esc := url.UserPassword("u", pw).String() // u:p%40ss%2Fw%20rd+%221
	dsn := "postgres://" + esc + "@db:5432/test?sslpassword=" + url.QueryEscape("k3y&x") + "&schema=s"
	tests := []struct{ name, dsn, text, want string }{
		{"no dsn", "", "pw s3cret", "pw s3cret"},
		{"verbatim DSN", dsn, "dial " + dsn + ": refused",
			"dial postgres://u:xxxxx@db:5432/test?sslpassword=xxxxx&schema=s: refused"},
		{"raw password", dsn, "auth " + pw + " failed", "auth xxxxx failed"},
		{"QueryEscape", dsn, "x=" + url.QueryEscape(pw), "x=xxxxx"},
		{"PathEscape", dsn, "/" + url.PathEscape(pw) + "/", "/xxxxx/"},
		{"%q quoted", dsn, fmt.Sprintf("user %q", "a"+pw), `user "axxxxx"`},
		{"query secret, decoded and raw", dsn, "k3y&x " + url.QueryEscape("k3y&x"), "xxxxx xxxxx"},
		{"kv secret", `host=db password='it\'s s3cret'`, "password it's s3cret", "password xxxxx"},
		{"unparsable DSN", "kafka://u:pw-long@[::1", "parse kafka://u:pw-long@[::1 and pw-long", "parse kafka://xxxxx@[::1 and xxxxx"},
		{"nats token", "nats://tok3n@h:1", "auth tok3n", "auth xxxxx"},
		{"short secret, only in DSN syntax", "kafka://u:ab@h:1?password=cd",
			"ab about cd: u:ab@h password=cd&x, kafka://u:ab@h:1?password=cd",
			"ab about cd: u:xxxxx@h password=xxxxx&x, kafka://u:xxxxx@h:1?password=xxxxx"},
		{"password equal to user", "postgres://postgres:postgres@h/db",
			"postgres: connect as postgres to postgres://postgres:postgres@h/db",
			"postgres: connect as postgres to postgres://postgres:xxxxx@h/db"},
		{"no secret in DSN", "kafka://h:1", "kafka://h:1 refused", "kafka://h:1 refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Scrub(tc.text, tc.dsn); got != tc.want {
				t.Errorf("Scrub(%q, %q)\n got %q\nwant %q", tc.text, tc.dsn, got, tc.want)
			}
		})
	}
}

func TestScrubError(t *testing.T) {
	base := errors.New("base")
	if ScrubError(nil, "x://u:s3cret@h") != nil {
		t.Fatal("ScrubError(nil) is not nil")
	}
	clean := fmt.Errorf("dial h: %w", base)
	if got := ScrubError(clean, "x://u:s3cret@h"); got != clean {
		t.Fatalf("an error without the secret must come back as is, got %v", got)
	}
	err := ScrubError(fmt.Errorf("dial x://u:s3cret@h: %w", base), "x://u:s3cret@h")
	if err.Error() != "dial x://u:xxxxx@h: base" || !errors.Is(err, base) {
		t.Fatalf("ScrubError = %q (errors.Is base: %v)", err, errors.Is(err, base))
	}
}

func TestRegisteredSecrets(t *testing.T) {
	t.Cleanup(forgetSecrets)
	forgetSecrets()
	if got := ScrubAll("s3cret-a tok3n-b"); got != "s3cret-a tok3n-b" {
		t.Fatalf("nothing registered, yet ScrubAll changed the text: %q", got)
	}
	RegisterSecretsOf("")
	RegisterSecretsOf("kafka://h:1")
	RegisterSecretsOf("postgres://u:s3cret-a@h/db")
	RegisterSecretsOf("http://h:8474/?token=tok3n-b")
	RegisterSecretsOf("postgres://u:s3cret-a@h/db")
	if n := len(secretDSNs); n != 2 {
		t.Errorf("%d DSNs registered, want 2 (none without secrets, no duplicates)", n)
	}
	if got := ScrubAll("s3cret-a tok3n-b"); got != "xxxxx xxxxx" {
		t.Fatalf("ScrubAll = %q", got)
	}
}

func TestIsSecretParam(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "PASSWORD": true, "sslpassword": true, "sasl.password": true, "key-password": true,
		"secret": true, "client_secret": true, "token": true, "access_token": true, "api_key": true, "pass": true,
		"passwd": true, "pwd": true, "nkey": true, "seed": true,
		"sslkey": false, "sslcert": false, "passfile": false, "topic": false, "user": false, "stream": false, "keys": false,
	} {
		if got := IsSecretParam(name); got != want {
			t.Errorf("IsSecretParam(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestRegisterScrubsOpen: whatever a driver's Open or CheckDSN puts in its
// error, the registered one hides the DSN's password, and errors.Is still
// sees the cause.
func TestRegisterScrubsOpen(t *testing.T) {
	cause := errors.New("refused")
	Register(Registration{
		Name: "redact-test", Description: "test stub", DSNExample: "x://",
		Open: func(ctx context.Context, dsn string, o Options) (Driver, error) {
			return nil, fmt.Errorf("dial %s (%q): %w", dsn, dsn, cause)
		},
		CheckDSN: func(dsn string) error { return fmt.Errorf("bad %s", dsn) },
	})
	r, err := Lookup("redact-test")
	if err != nil {
		t.Fatal(err)
	}
	const dsn = "x://u:s3cret-pw@h:1"
	d, err := r.Open(context.Background(), dsn, Options{})
	if d != nil || err == nil || strings.Contains(err.Error(), "s3cret-pw") || !errors.Is(err, cause) {
		t.Fatalf("Open = %v, %v; want nil and a scrubbed error wrapping the cause", d, err)
	}
	if err := r.CheckDSN(dsn); err == nil || err.Error() != "bad x://u:xxxxx@h:1" {
		t.Fatalf("CheckDSN = %v", err)
	}
}

// FuzzRedactDSN: a password of 4 or more characters that occurs nowhere
// else in the DSN never survives RedactDSN, nor Scrub of a text quoting the
// DSN, the password and its escaped forms.
func FuzzRedactDSN(f *testing.F) {
	for _, s := range [][3]string{
		{"u", "s3cret", "127.0.0.1:5432/db?x=1"},
		{"u", "p@ss/w#rd", "[::1"},
		{"", "tok3n", "h:1,h2:2"},
		{"u", "12/b", "host/db"},
		{"a:b", "c?d=e", "h"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, user, pw, rest string) {
		if len(pw) < minSecretLen || strings.Contains(Mask, pw) || strings.Contains(user+rest, pw) {
			return // a weak secret, or one the DSN also shows in public
		}
		kvQuote := strings.NewReplacer(`\`, `\\`, "'", `\'`)
		for _, c := range []struct {
			dsn    string
			public string // the DSN as RedactDSN should show it
			skip   bool   // the password as a DSN reader sees it is not pw
		}{
			// Raw: a ':' or an '@' in user, or an '@' in rest, moves the
			// userinfo's boundaries.
			{"kafka://" + user + ":" + pw + "@" + rest, "kafka://" + user + ":xxxxx@" + rest, strings.ContainsAny(user, ":@/?#") || strings.Contains(rest, "@")},
			{"postgres://" + url.UserPassword(user, pw).String() + "@" + rest, "postgres://" + url.User(user).String() + ":xxxxx@" + rest, strings.Contains(rest, "@")},
			{"nats://h:1/?password=" + url.QueryEscape(pw) + "&" + rest, "nats://h:1/?password=xxxxx&" + rest, false},
			{"host=h password='" + kvQuote.Replace(pw) + "' " + rest, "host=h password=xxxxx " + rest, false},
		} {
			if c.skip || strings.Contains(c.public, pw) || strings.Contains(strings.ReplaceAll(c.dsn, pw, ""), pw) {
				continue
			}
			if got := RedactDSN(c.dsn); strings.Contains(got, pw) {
				t.Fatalf("RedactDSN(%q) = %q keeps the password %q", c.dsn, got, pw)
			}
			text := fmt.Sprintf("open %s: %q %s %s %s", c.dsn, pw, pw, url.QueryEscape(pw), url.PathEscape(pw))
			if got := Scrub(text, c.dsn); strings.Contains(got, pw) {
				t.Fatalf("Scrub(%q, %q) = %q keeps the password %q", text, c.dsn, got, pw)
			}
		}
	})
}
