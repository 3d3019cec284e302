package inbox

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/evbench/evbench/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func testPool(t *testing.T) (*pgxpool.Pool, string) {
	return pgtest.Pool(t, "evbt_inbox_", "evbt_model_", "evbt_bad_")
}

// TestPostgresInboxSameTransaction: a redelivery is discarded, a failed
// handle leaves neither the inbox row nor the read-model update, and the
// read model counts every event once.
func TestPostgresInboxSameTransaction(t *testing.T) {
	pool, sfx := testPool(t)
	ctx := context.Background()
	in, err := NewPostgres(ctx, pool, PostgresOptions{Consumer: "p0", InboxTable: "evbt_inbox_" + sfx, ReadModelTable: "evbt_model_" + sfx})
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewPostgres(ctx, pool, PostgresOptions{Consumer: "p1", InboxTable: "evbt_inbox_" + sfx, ReadModelTable: "evbt_model_" + sfx})
	if err != nil {
		t.Fatal(err)
	}
	ok := func() error { return nil }
	msg := func(seq byte) Message { return Message{ID: [16]byte{9, seq}, Key: "order-1", Seq: uint64(seq)} }
	for i, s := range []struct {
		in      *Postgres
		seq     byte
		fail    bool
		wantDup bool
	}{
		{in, 1, false, false}, {in, 1, false, true}, {in, 2, true, false}, {in, 2, false, false}, {in, 2, false, true},
		{other, 1, false, false}, // another consumer has its own inbox
	} {
		h := ok
		if s.fail {
			h = func() error { return errors.New("boom") }
		}
		dup, err := s.in.Process(ctx, msg(s.seq), h)
		if dup != s.wantDup || (err != nil) != s.fail {
			t.Fatalf("step %d: dup %v err %v", i, dup, err)
		}
	}
	if n, err := in.ReadModel(ctx, "order-1"); err != nil || n != 2 {
		t.Fatalf("read model = %d (%v), want 2", n, err)
	}
	if n, err := other.Applied(ctx); err != nil || n != 1 {
		t.Fatalf("other consumer applied %d (%v), want 1", n, err)
	}
}

// TestPostgresInboxWrongColumns: an existing table of another shape is one
// line naming the table, what it has and the fix.
func TestPostgresInboxWrongColumns(t *testing.T) {
	pool, sfx := testPool(t)
	ctx := context.Background()
	bad := "evbt_bad_" + sfx
	if _, err := pool.Exec(ctx, "CREATE TABLE "+bad+" (id integer, consumer text)"); err != nil {
		t.Fatal(err)
	}
	_, err := NewPostgres(ctx, pool, PostgresOptions{Consumer: "p0", InboxTable: bad, ReadModelTable: "evbt_model_" + sfx})
	if err == nil {
		t.Fatal("no error for a table with the wrong columns")
	}
	msg := err.Error()
	for _, want := range []string{bad, "id integer, consumer text", "event_id bytea", "DROP TABLE " + bad} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	// Right columns, no unique key: ON CONFLICT could not see duplicates.
	if _, err := pool.Exec(ctx, "DROP TABLE "+bad+"; CREATE TABLE "+bad+" (consumer text, event_id bytea)"); err != nil {
		t.Fatal(err)
	}
	_, err = NewPostgres(ctx, pool, PostgresOptions{Consumer: "p0", InboxTable: bad, ReadModelTable: "evbt_model_" + sfx})
	if err == nil || !strings.Contains(err.Error(), "no primary key") {
		t.Fatalf("err = %v, want the missing key named", err)
	}
}
