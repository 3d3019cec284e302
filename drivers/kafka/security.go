package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/dsntls"
)

// Security is the TLS and SASL part of a kafka:// DSN: what managed
// services (Confluent Cloud, Amazon MSK, Azure Event Hubs' Kafka endpoint)
// require. The zero value is plaintext without authentication, as a local
// broker or kfake expects.
type Security struct {
	// TLS encrypts every broker connection (tls=true, or implied by any of
	// ca, cert, key, server_name, insecure_skip_verify).
	TLS bool
	// CAFile is a PEM bundle of the CAs that may sign the brokers'
	// certificates (ca=); empty means the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// brokers that authenticate clients by certificate (mTLS).
	CertFile, KeyFile string
	// ServerName is the name the broker certificates must carry; empty
	// means each broker's own host name (from the DSN or its metadata).
	ServerName string
	// InsecureSkipVerify accepts any broker certificate: encrypted but not
	// authenticated, so a man in the middle can read everything. Only when
	// asked for explicitly, and labelled in Describe and the logs.
	InsecureSkipVerify bool
	// Mechanism is the SASL mechanism: "" (none), "plain",
	// "scram-sha-256", "scram-sha-512" or "oauthbearer". DSN userinfo
	// without sasl= means "plain".
	Mechanism string
	// User and Password come from the DSN userinfo (PLAIN and SCRAM).
	User, Password string
	// Token is an OAUTHBEARER token given inline (token=).
	Token string
	// TokenFile holds an OAUTHBEARER token (token_file=); it is read
	// again at every authentication, so an outside process may refresh it.
	TokenFile string

	tlsConfig *tls.Config   // built by ParseDSN from the files above
	tls       dsntls.Config // the same settings, for the dialer (dsntls.Config.Dial)
}

// securityParams are the DSN parameters Security reads: the shared TLS
// ones and SASL's.
var securityParams = append([]string{"sasl", "token", "token_file"}, dsntls.Params...)

// saslMechanisms are the supported SASL mechanisms, as sasl= spells them.
var saslMechanisms = []string{"plain", "scram-sha-256", "scram-sha-512", "oauthbearer"}

// parseSecurity reads the TLS and SASL settings from the userinfo and the
// query, checks they make sense together and loads the TLS files, so that
// a missing CA, a key without a certificate or a typo in the mechanism is
// a one-line error before any connection.
//
// SASL without TLS must be asked for with an explicit tls=false: managed
// services all require TLS, and PLAIN (or a bearer token) over plaintext
// hands the secret to anyone on the path. SCRAM does not send the password,
// but the whole session, events included, is still readable.
func parseSecurity(ui *url.Userinfo, q url.Values) (Security, error) {
	var s Security
	tc, err := dsntls.Parse("kafka", q, false)
	if err != nil {
		return s, err
	}
	s.TLS, s.CAFile, s.CertFile, s.KeyFile, s.ServerName, s.InsecureSkipVerify = tc.Enabled, tc.CAFile, tc.CertFile, tc.KeyFile, tc.ServerName, tc.InsecureSkipVerify
	s.tlsConfig, s.tls = tc.Base(), tc
	tlsSet := tc.Explicit
	if err := s.parseSASL(ui, q); err != nil {
		return s, err
	}
	if s.Mechanism != "" && !s.TLS && !tlsSet {
		what := "the password"
		switch s.Mechanism {
		case "oauthbearer":
			what = "the token"
		case "scram-sha-256", "scram-sha-512":
			what = "every event (SCRAM hides the password, not the session)"
		}
		return s, fmt.Errorf("kafka: DSN uses SASL %s without TLS, which sends %s in clear text: add tls=true (Confluent Cloud, MSK and Event Hubs require it) or tls=false to accept plaintext deliberately", strings.ToUpper(s.Mechanism), what)
	}
	return s, nil
}

// parseSASL reads the mechanism and its credentials.
func (s *Security) parseSASL(ui *url.Userinfo, q url.Values) error {
	mech, mechSet := first(q, "sasl")
	mech = strings.ToLower(mech)
	s.Token, _ = first(q, "token")
	s.TokenFile, _ = first(q, "token_file")
	if ui != nil {
		s.User = ui.Username()
		pw, ok := ui.Password()
		if s.User == "" || !ok {
			return fmt.Errorf("kafka: DSN userinfo needs user:password (SASL PLAIN or SCRAM credentials); a user alone is not enough")
		}
		s.Password = pw
	}
	hasToken := s.Token != "" || s.TokenFile != ""
	switch {
	case mechSet && mech == "":
		return fmt.Errorf("kafka: DSN parameter sasl= is empty; want one of %s", strings.Join(saslMechanisms, ", "))
	case !mechSet && hasToken:
		mech = "oauthbearer"
	case !mechSet && ui != nil:
		mech = "plain"
	}
	switch mech {
	case "":
		return nil
	case "plain", "scram-sha-256", "scram-sha-512":
		if ui == nil {
			return fmt.Errorf("kafka: DSN sasl=%s needs credentials in the userinfo: kafka://USER:PASSWORD@host:port?sasl=%s", mech, mech)
		}
		if hasToken {
			return fmt.Errorf("kafka: DSN parameters token= and token_file= are for sasl=oauthbearer, not sasl=%s; drop them", mech)
		}
	case "oauthbearer":
		if ui != nil {
			return fmt.Errorf("kafka: DSN sasl=oauthbearer takes its token from token= or token_file=, not the userinfo; drop user:password@")
		}
		if s.Token != "" && s.TokenFile != "" {
			return fmt.Errorf("kafka: DSN parameters token= and token_file= exclude each other; give one")
		}
		if !hasToken {
			return fmt.Errorf("kafka: DSN sasl=oauthbearer needs token=TOKEN or token_file=/path/to/token")
		}
		if s.TokenFile != "" {
			if _, err := readToken(s.TokenFile); err != nil {
				return err
			}
		}
	case "aws_msk_iam":
		return fmt.Errorf("kafka: DSN sasl=aws_msk_iam is not supported (MSK IAM needs AWS request signing); use MSK's SASL/SCRAM listener on port 9096 with sasl=scram-sha-512; supported: %s", strings.Join(saslMechanisms, ", "))
	default:
		return fmt.Errorf("kafka: DSN parameter sasl=%q is not supported; supported: %s", mech, strings.Join(saslMechanisms, ", "))
	}
	s.Mechanism = mech
	return nil
}

// first returns the first value of a parameter and whether it was given.
func first(q url.Values, k string) (string, bool) {
	vs, ok := q[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// readToken reads an OAUTHBEARER token file: its content, surrounding
// white space removed, must not be empty.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kafka: DSN parameter token_file=: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("kafka: DSN parameter token_file=: the file is empty; it must hold the OAUTHBEARER token")
	}
	return tok, nil
}

// saslMechanism returns the franz-go mechanism, nil without SASL.
func (s *Security) saslMechanism() sasl.Mechanism {
	switch s.Mechanism {
	case "plain":
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case "scram-sha-256":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case "scram-sha-512":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	case "oauthbearer":
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			if s.TokenFile == "" {
				return oauth.Auth{Token: s.Token}, nil
			}
			tok, err := readToken(s.TokenFile)
			return oauth.Auth{Token: tok}, err
		})
	}
	return nil
}

// describe labels the connection's security for Describe: the insecure
// choices loudly.
func (s *Security) describe() string {
	var parts []string
	switch {
	case !s.TLS:
		parts = append(parts, "plaintext")
	case s.InsecureSkipVerify:
		parts = append(parts, "TLS WITHOUT CERTIFICATE VERIFICATION (insecure_skip_verify=true: anyone on the path can impersonate the brokers)")
	case s.CertFile != "":
		parts = append(parts, "TLS with client certificate")
	default:
		parts = append(parts, "TLS")
	}
	if s.Mechanism != "" {
		parts = append(parts, "SASL "+strings.ToUpper(s.Mechanism))
	}
	return strings.Join(parts, ", ")
}

// warnings are the lines Open logs about insecure but accepted settings.
func (s *Security) warnings() []string {
	var w []string
	if s.InsecureSkipVerify {
		w = append(w, "kafka: WARNING: insecure_skip_verify=true: broker certificates are not verified; the connection is encrypted but anyone on the path can impersonate the brokers")
	}
	if !s.TLS && (s.Mechanism == "plain" || s.Mechanism == "oauthbearer") {
		w = append(w, fmt.Sprintf("kafka: WARNING: SASL %s over plaintext (tls=false): the credentials cross the network unencrypted", strings.ToUpper(s.Mechanism)))
	}
	return w
}

// explainConnect adds what a bare EOF most likely means when SASL is on.
// A broker that rejects SASL credentials answers SASL_AUTHENTICATION_FAILED
// (Kafka: franz-go's error says so) or just closes the connection (kfake,
// some proxies), which franz-go reports as a bare EOF. Other closes already
// come with franz-go's own explanation ("is TLS missing?", "is SASL
// missing?") and are left alone. A TLS 1.3 listener that requires a client
// certificate rejects a client without one only after the handshake, as
// "remote error: tls: certificate required".
func (s *Security) explainConnect(err error) error {
	if err != nil && s.CertFile == "" && strings.Contains(err.Error(), "tls: certificate required") {
		return fmt.Errorf("%w (the listener requires a client certificate: add cert= and key=)", err)
	}
	if s.Mechanism == "" || err == nil || (err.Error() != io.EOF.Error() && err.Error() != io.ErrUnexpectedEOF.Error()) {
		return err
	}
	return fmt.Errorf("%w (the broker closed the connection during SASL %s authentication: wrong user or password, or a mechanism this listener does not offer)", err, strings.ToUpper(s.Mechanism))
}

// String and GoString keep the password and token out of a Config printed
// with %v, %+v or %#v: only the label shows.
func (s Security) String() string   { return s.describe() }
func (s Security) GoString() string { return "kafka.Security{" + s.describe() + "}" }

// warned holds the warnings already logged: a run opens the driver several
// times (producer, consumer, control) and one WARNING per run is enough.
var warned sync.Map

// warn logs each of warnings() once per process.
func (s *Security) warn(opts drivers.Options) {
	for _, w := range s.warnings() {
		if _, dup := warned.LoadOrStore(w, true); !dup {
			opts.Log("%s", w)
		}
	}
}
