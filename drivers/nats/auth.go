package nats

import (
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/evbench/evbench/drivers"
)

// checkCreds reads creds= when the DSN is parsed, so a wrong path or a
// file that is not a .creds file fails before anything connects; nats.go
// itself reads it only at the handshake.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nats: DSN parameter creds=: %v; give the .creds file (user JWT and NKey seed) from nsc or Synadia Cloud", err)
	}
	s := string(b)
	if !strings.Contains(s, "BEGIN NATS USER JWT") || !strings.Contains(s, "NKEY SEED") {
		return fmt.Errorf("nats: DSN parameter creds=%s holds no user JWT and NKey seed; give the .creds file from nsc or Synadia Cloud", path)
	}
	return nil
}

// checkNKey loads nkey= (a user NKey seed file) the way Open will.
func checkNKey(path string) error {
	if _, err := nats.NkeyOptionFromSeed(path); err != nil {
		return fmt.Errorf("nats: DSN parameter nkey=: %v; give a file holding a user NKey seed (SU...)", err)
	}
	return nil
}

// checkAuth refuses two ways of authenticating at once: the server would
// see both and which one it checks is not the DSN's to say.
func checkAuth(c Config) error {
	var ways []string
	if c.User != "" {
		ways = append(ways, "user:password@")
	}
	if c.Token != "" {
		ways = append(ways, "token@")
	}
	if c.CredsFile != "" {
		ways = append(ways, "creds=")
	}
	if c.NKeyFile != "" {
		ways = append(ways, "nkey=")
	}
	if len(ways) > 1 {
		return fmt.Errorf("nats: DSN gives %s; authenticate one way only", strings.Join(ways, " and "))
	}
	return nil
}

// authOptions are the nats.go options for the DSN's credentials.
func (c Config) authOptions() ([]nats.Option, error) {
	switch {
	case c.User != "":
		return []nats.Option{nats.UserInfo(c.User, c.Password)}, nil
	case c.Token != "":
		return []nats.Option{nats.Token(c.Token)}, nil
	case c.CredsFile != "":
		return []nats.Option{nats.UserCredentials(c.CredsFile)}, nil
	case c.NKeyFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats: DSN parameter nkey=: %w", err)
		}
		return []nats.Option{o}, nil
	}
	return nil, nil
}

// redactDSN is drivers.RedactDSN (which masks the token of nats://TOKEN@host
// and tls://TOKEN@host alike).
func redactDSN(dsn string) string { return drivers.RedactDSN(dsn) }
