package supervisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/evbench/evbench/drivers"
)

// postgresBE runs the postmaster of a cluster initdb made in the data
// directory. Postgres refuses to run as root, so when evbench is root the
// server (and initdb) run as the "postgres" system user, set as the child's
// credentials: the child is still evbench's own, so Pdeathsig and the
// process group apply directly (no runuser or pg_ctl in between).
type postgresBE struct {
	fsync, syncCommit string
	bindir            string
	version           string
	asUser            bool // run as uid:gid
	uid, gid          int
}

func newPostgres(params map[string]string) (backend, error) {
	b := &postgresBE{fsync: "on", syncCommit: "on"}
	for k, v := range params {
		switch k {
		case "fsync":
			if v != "on" && v != "off" {
				return nil, fmt.Errorf("postgres: managed store: fsync=%q: want on or off", v)
			}
			b.fsync = v
		case "synchronous_commit":
			switch v {
			case "on", "off", "local", "remote_write", "remote_apply":
				b.syncCommit = v
			default:
				return nil, fmt.Errorf("postgres: managed store: synchronous_commit=%q: want on, off, local, remote_write or remote_apply", v)
			}
		default:
			return nil, fmt.Errorf("postgres: managed store: unknown parameter %q (known: fsync, synchronous_commit)", k)
		}
	}
	var err error
	if b.bindir, err = postgresBindir(); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("postgres: managed store: evbench runs as root and Postgres refuses root, but there is no \"postgres\" user to run it as (%v): install the PostgreSQL server package or run evbench as a non-root user", err)
		}
		b.uid, _ = strconv.Atoi(u.Uid)
		b.gid, _ = strconv.Atoi(u.Gid)
		b.asUser = true
	}
	return b, nil
}

// postgresBindir finds the directory holding initdb and postgres:
// pg_config --bindir (Debian keeps them off PATH), the newest
// /usr/lib/postgresql/*/bin, or PATH.
func postgresBindir() (string, error) {
	has := func(dir string) bool {
		for _, n := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("postgres: initdb not found: install PostgreSQL server binaries (pg_config --bindir; Debian: apt-get install postgresql)")
}

func pgMajor(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func (b *postgresBE) fsOwner() (int, int, bool) { return b.uid, b.gid, b.asUser }

func (b *postgresBE) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(b.bindir, name), args...)
	c.Env = append(os.Environ(), "LC_ALL=C")
	if b.asUser {
		c.SysProcAttr = credential(uint32(b.uid), uint32(b.gid))
		c.Dir = "/" // evbench's working directory may not be readable by postgres
	}
	return c
}

func (b *postgresBE) prepare(ctx context.Context, s *Store, dir string) error {
	out, err := exec.Command(filepath.Join(b.bindir, "postgres"), "--version").Output()
	if err != nil {
		return fmt.Errorf("postgres: managed store: %s/postgres --version: %w", b.bindir, err)
	}
	// "postgres (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"
	if f := strings.Fields(string(out)); len(f) >= 3 {
		b.version = f[2]
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return nil // an existing cluster (KeepData dir reused)
	}
	// --no-sync: a throwaway cluster; what matters is that the files are
	// complete before the server starts, and the page cache has them (the
	// fault filesystem never rolls back what was written under it).
	c := b.cmd("initdb", "-D", dir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("postgres: managed store: pipe: %w", err)
	}
	c.Stdout, c.Stderr = w, w
	t0 := time.Now()
	if err := spawn(c); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("postgres: managed store: start initdb: %w", err)
	}
	w.Close()
	outb, _ := readAll(r)
	r.Close()
	fmt.Fprintf(s.logw, "%s", outb)
	if err := c.Wait(); err != nil {
		return fmt.Errorf("postgres: managed store: initdb -D %s failed (%v); its output:\n%s", dir, err, outb)
	}
	s.logf("postgres: managed store: initdb in %v", time.Since(t0).Round(time.Millisecond))
	return nil
}

func readAll(f *os.File) ([]byte, error) {
	var out []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, nil
		}
	}
}

func (b *postgresBE) command(s *Store) (*exec.Cmd, error) {
	return b.cmd("postgres", "-D", s.data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync="+b.fsync,
		"-c", "synchronous_commit="+b.syncCommit,
	), nil
}

func (b *postgresBE) readyPrefix() string { return "" }

// waitReady connects with pgx until the server answers a query.
func (b *postgresBE) waitReady(ctx context.Context, s *Store) error {
	c := s.cur.Load()
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.DSN())
		if err == nil {
			var one int
			err = conn.QueryRow(cctx, "SELECT 1").Scan(&one)
			conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-c.done:
			return fmt.Errorf("exited before it was ready (%s)", exitText(c.err))
		case <-ctx.Done():
			return fmt.Errorf("not answering (%v): %w", last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// gracefulSignal: SIGINT is the postmaster's fast shutdown (pg_ctl stop
// -m fast): sessions are ended, a shutdown checkpoint is written.
func (b *postgresBE) gracefulSignal() syscall.Signal { return syscall.SIGINT }

func (b *postgresBE) dsn(port int) string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
}

func (b *postgresBE) describe(s *Store) string {
	return fmt.Sprintf("postgres %s (%s), fsync=%s synchronous_commit=%s", b.version, s.pidText(), b.fsync, b.syncCommit)
}

func (b *postgresBE) durability() drivers.Durability {
	d := drivers.Durability{Replication: "none (single copy)",
		Detail: "postgres -c fsync=" + b.fsync + " -c synchronous_commit=" + b.syncCommit}
	if b.fsync == "on" && b.syncCommit != "off" {
		d.AckAfterFsync = drivers.AckAfterFsyncTrue
		d.Detail += ": COMMIT returns after the WAL flush"
	} else {
		d.AckAfterFsync = drivers.AckAfterFsyncFalse
		d.Detail += ": COMMIT can return before the WAL reaches the disk"
	}
	return d
}
