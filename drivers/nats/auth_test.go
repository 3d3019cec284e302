package nats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/evbench/evbench/drivers"
)

// TestAuth: each way to authenticate reaches a server that demands it,
// and a wrong secret is refused. nats://TOKEN@host used to be sent as a
// user name without password, which a token server refuses.
func TestAuth(t *testing.T) {
	tokenAddr := startServerWith(t, func(o *server.Options) { o.Authorization = "s3cr3t-token" })
	userAddr := startServerWith(t, func(o *server.Options) { o.Username, o.Password = "bob", "s3cr3t-pw" })
	seed, pub := newUserNKey(t)
	nkeyAddr := startServerWith(t, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} })
	otherSeed, _ := newUserNKey(t)
	creds, credsAddr := startOperatorServer(t)
	tests := []struct {
		name, dsn string
		ok        bool
	}{
		{"token", "nats://s3cr3t-token@" + tokenAddr, true},
		{"wrong token", "nats://nope@" + tokenAddr, false},
		{"no token", "nats://" + tokenAddr, false},
		{"user and password", "nats://bob:s3cr3t-pw@" + userAddr, true},
		{"wrong password", "nats://bob:nope@" + userAddr, false},
		{"nkey", "nats://" + nkeyAddr + "?nkey=" + seed, true},
		{"other nkey", "nats://" + nkeyAddr + "?nkey=" + otherSeed, false},
		{"creds", "nats://" + credsAddr + "?creds=" + creds, true},
		{"no creds", "nats://" + credsAddr, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn + strings.Replace(uniqueParams(), "?", sep(tc.dsn), 1)
			err := openErr(t, dsn, drivers.Options{})
			if (err == nil) != tc.ok {
				t.Fatalf("Open: %v; want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

// newUserNKey writes a user NKey seed to a file: its path and public key.
func newUserNKey(t *testing.T) (path, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	path = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(path, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// startOperatorServer runs a server in operator (JWT) mode, as Synadia
// Cloud does, with one JetStream-enabled account, and writes a .creds file
// for a user of it: the file's path and the server's address.
func startOperatorServer(t *testing.T) (creds, addr string) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	oc, err := jwt.DecodeOperatorClaims(ojwt)
	if err != nil {
		t.Fatal(err)
	}
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	useed, _ := ukp.Seed()
	uc := jwt.NewUserClaims(upub)
	uc.IssuerAccount = apub
	ujwt, err := uc.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	file, err := jwt.FormatUserConfig(ujwt, useed)
	if err != nil {
		t.Fatal(err)
	}
	creds = filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(creds, file, 0o600); err != nil {
		t.Fatal(err)
	}
	// JetStream in operator mode needs a system account.
	skp, _ := nkeys.CreateAccount()
	spub, _ := skp.PublicKey()
	sjwt, err := jwt.NewAccountClaims(spub).Encode(okp)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	for k, v := range map[string]string{apub: ajwt, spub: sjwt} {
		if err := resolver.Store(k, v); err != nil {
			t.Fatal(err)
		}
	}
	addr = startServerWith(t, func(o *server.Options) {
		o.TrustedOperators, o.AccountResolver, o.SystemAccount = []*jwt.OperatorClaims{oc}, resolver, spub
	})
	return creds, addr
}
