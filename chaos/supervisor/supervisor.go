package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/evbench/evbench/chaos/faultfs"
	"github.com/evbench/evbench/drivers"
)

// Spec says which store to run and how.
type Spec struct {
	// Driver is "refstore", "nats" or "postgres" (see Supported).
	Driver string
	// DataDir holds everything of the store (data/, store.log, and under
	// FaultFS backing/). "" means a temp dir, removed by Close unless
	// KeepData. A given DataDir is never removed.
	DataDir  string
	KeepData bool
	// FaultFS mounts the store's data directory through chaos/faultfs
	// (DataDir/backing mounted on DataDir/data), so disk faults and
	// PowerLoss work. It needs FUSE: Start fails with faultfs.Available's
	// error when FUSE is missing.
	FaultFS bool
	// Params configure the store: refstore sync=always|interval|none
	// (default always); nats sync=default|always (default default);
	// postgres fsync=on|off (default on), synchronous_commit=
	// on|off|local|remote_write|remote_apply (default on). Unknown keys and
	// values are errors.
	Params map[string]string
	// Binary is the evbench binary the refstore and nats children run;
	// "" means os.Executable().
	Binary string
	// Logf receives lifecycle lines and the child's start-up output (up to
	// readiness: recovery notes); nil discards. Everything the child
	// prints goes to Dir()/store.log.
	Logf func(format string, args ...any)
}

// Timeouts. A store that is not ready within readyTimeout (or the caller's
// ctx) fails Start; a graceful stop that takes longer than stopTimeout is
// finished with SIGKILL.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = 30 * time.Second
	closeTimeout = 10 * time.Second
	killTimeout  = 10 * time.Second
)

// backend is one kind of managed store.
type backend interface {
	// prepare runs once in Start, before the first start: checks binaries,
	// creates the data directory's contents (initdb) in dir (the data
	// directory, or under FaultFS the backing directory before the mount),
	// learns versions.
	prepare(ctx context.Context, s *Store, dir string) error
	// command builds the child for one start.
	command(s *Store) (*exec.Cmd, error)
	// readyPrefix is the output line prefix that means ready; "" means
	// waitReady decides.
	readyPrefix() string
	// waitReady, when readyPrefix is "", polls the store until it answers.
	waitReady(ctx context.Context, s *Store) error
	// gracefulSignal asks the store to shut down cleanly.
	gracefulSignal() syscall.Signal
	dsn(port int) string
	describe(s *Store) string
	durability() drivers.Durability
	// fsOwner is the uid:gid the data directory must belong to, ok false
	// when it stays evbench's own.
	fsOwner() (uid, gid int, ok bool)
}

var backends = map[string]func(params map[string]string) (backend, error){
	"refstore": newRefstore,
	"nats":     newNats,
	"postgres": newPostgres,
}

// Supported returns nil when driver can be managed, else an error listing
// the drivers that can.
func Supported(driver string) error {
	if _, ok := backends[driver]; ok {
		return nil
	}
	return fmt.Errorf("driver %s cannot be managed; managed drivers: %s", driver, strings.Join(managedNames(), ", "))
}

func managedNames() []string {
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Store is a running (or killed, or stopped) managed store. Its methods are
// safe for concurrent use; lifecycle methods (Kill, Start, Restart, Close,
// ...) are serialised.
type Store struct {
	spec Spec
	be   backend
	root string // everything of the store
	data string // the store's data directory (the mountpoint under FaultFS)
	tmp  bool   // root is ours to remove
	port int
	fs   *faultfs.FS
	logw *os.File // root/store.log

	mu     sync.Mutex // serialises lifecycle changes
	closed bool
	cur    atomic.Pointer[child]
	starts time.Duration // duration of the last successful start
}

// child is one run of the store process.
type child struct {
	cmd   *exec.Cmd
	pid   int
	done  chan struct{} // closed when the process was reaped
	err   error         // Wait's result, set before done closes
	ready chan struct{} // closed once ready (the readiness line, or waitReady)
	out   chan struct{} // closed when the child's output ended
	tail  *tailBuf
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Start creates the store's directory (and mounts the fault filesystem),
// starts the store on a free 127.0.0.1 port and returns once it accepts
// connections. On error nothing is left running or mounted.
func Start(ctx context.Context, spec Spec) (*Store, error) {
	newBE, ok := backends[spec.Driver]
	if !ok {
		return nil, Supported(spec.Driver)
	}
	be, err := newBE(spec.Params)
	if err != nil {
		return nil, err
	}
	if spec.FaultFS {
		if err := faultfs.Available(); err != nil {
			return nil, fmt.Errorf("%s: managed store on faultfs: %w", spec.Driver, err)
		}
	}
	if spec.Binary == "" && spec.Driver != "postgres" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%s: managed store: cannot find the evbench binary (%v): set Spec.Binary", spec.Driver, err)
		}
		spec.Binary = exe
	}
	s := &Store{spec: spec, be: be}
	if err := s.setup(ctx); err != nil {
		s.teardown()
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		s.teardown()
		return nil, err
	}
	return s, nil
}

func (s *Store) logf(format string, args ...any) {
	if s.spec.Logf != nil {
		s.spec.Logf(format, args...)
	}
}

// setup makes the directories, mounts faultfs, picks the port and runs the
// backend's prepare.
func (s *Store) setup(ctx context.Context) error {
	name := s.spec.Driver
	if s.spec.DataDir == "" {
		d, err := os.MkdirTemp("", "evbench-managed-"+name+"-")
		if err != nil {
			return fmt.Errorf("%s: managed store: temp dir: %w (set TMPDIR to a writable directory)", name, err)
		}
		s.root, s.tmp = d, true
	} else {
		d, err := filepath.Abs(s.spec.DataDir)
		if err != nil {
			return fmt.Errorf("%s: managed store: data dir %s: %w", name, s.spec.DataDir, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("%s: managed store: data dir: %w", name, err)
		}
		s.root = d
	}
	// Traversable by a store running as another user (postgres).
	if err := os.Chmod(s.root, 0o755); err != nil {
		return fmt.Errorf("%s: managed store: chmod %s: %w", name, s.root, err)
	}
	var err error
	if s.logw, err = os.OpenFile(filepath.Join(s.root, "store.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return fmt.Errorf("%s: managed store: log file: %w", name, err)
	}
	s.data = filepath.Join(s.root, "data")
	uid, gid, chown := s.be.fsOwner()
	mkOwned := func(dir string) error {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s: managed store: %w", name, err)
		}
		if chown {
			if err := os.Chown(dir, uid, gid); err != nil {
				return fmt.Errorf("%s: managed store: chown %s to the store's user: %w", name, dir, err)
			}
		}
		return nil
	}
	// A mount left by an evbench that was killed (a FUSE mount
	// outlives its process) answers ENOTCONN: detach it.
	if m, _ := faultfs.IsMounted(s.data); m {
		s.logf("%s: managed store: detaching a stale mount on %s", name, s.data)
		if err := syscall.Unmount(s.data, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("%s: managed store: stale mount on %s: %w (umount -l %s)", name, s.data, err, s.data)
		}
	}
	if err := mkOwned(s.data); err != nil {
		return err
	}
	// The backend prepares its files (initdb) before the mount, straight
	// on the backing directory: faultfs only tracks writes made through it,
	// so they count as durable, and they are not slowed by FUSE.
	if s.spec.FaultFS {
		backing := filepath.Join(s.root, "backing")
		if err := mkOwned(backing); err != nil {
			return err
		}
		if err := s.be.prepare(ctx, s, backing); err != nil {
			return err
		}
		fs, err := faultfs.Mount(backing, s.data, faultfs.Options{AllowOther: chown, Logf: s.spec.Logf})
		if err != nil {
			return fmt.Errorf("%s: managed store: mount faultfs on %s: %w", name, s.data, err)
		}
		s.fs = fs
	} else if err := s.be.prepare(ctx, s, s.data); err != nil {
		return err
	}
	if s.port, err = freePort(); err != nil {
		return fmt.Errorf("%s: managed store: no free 127.0.0.1 port: %w", name, err)
	}
	return nil
}

// teardown undoes setup after a failed Start.
func (s *Store) teardown() {
	if c := s.cur.Load(); c != nil && !c.exited() {
		s.killChild(c)
	}
	s.release()
}

// release unmounts, closes the log and removes a temp root.
func (s *Store) release() error {
	var errs []error
	if s.fs != nil {
		if err := s.fs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: managed store: unmount %s: %w", s.spec.Driver, s.data, err))
		}
	}
	if s.logw != nil {
		s.logw.Close()
	}
	if s.root != "" && s.tmp && !s.spec.KeepData {
		if len(errs) > 0 {
			// Never RemoveAll through a mount that is still there.
			errs = append(errs, fmt.Errorf("%s: managed store: left %s in place (still mounted)", s.spec.Driver, s.root))
		} else if err := os.RemoveAll(s.root); err != nil {
			errs = append(errs, fmt.Errorf("%s: managed store: remove %s: %w", s.spec.Driver, s.root, err))
		}
	} else if s.root != "" {
		s.logf("%s: managed store data kept in %s", s.spec.Driver, s.root)
	}
	return errors.Join(errs...)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs the child and waits until it is ready. Callers hold s.mu (or
// own s exclusively, in Start).
func (s *Store) start(ctx context.Context) error {
	name := s.spec.Driver
	if c := s.cur.Load(); c != nil && !c.exited() {
		return fmt.Errorf("%s: managed store already running (pid %d)", name, c.pid)
	}
	t0 := time.Now()
	cmd, err := s.be.command(s)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("%s: managed store: pipe: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := spawn(cmd); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("%s: managed store: start %s: %w", name, cmd.Path, err)
	}
	w.Close()
	c := &child{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), ready: make(chan struct{}), out: make(chan struct{}), tail: &tailBuf{}}
	s.cur.Store(c)
	go s.readOutput(c, r)
	go func() {
		c.err = cmd.Wait()
		close(c.done)
		s.logf("%s: managed store pid %d exited: %v", name, c.pid, exitText(c.err))
	}()
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if p := s.be.readyPrefix(); p != "" {
		select {
		case <-c.ready:
		case <-c.done:
			err = fmt.Errorf("exited before it was ready (%s)", exitText(c.err))
		case <-rctx.Done():
			err = fmt.Errorf("not ready: %w", rctx.Err())
		}
	} else if err = s.be.waitReady(rctx, s); err == nil {
		close(c.ready)
	}
	if err != nil {
		if !c.exited() {
			s.killChild(c)
		}
		select { // let the last lines arrive
		case <-c.out:
		case <-time.After(time.Second):
		}
		return fmt.Errorf("%s: managed store (%s) on port %d: %w; its last output:\n%s", name, strings.Join(cmd.Args, " "), s.port, err, c.tail.String())
	}
	s.starts = time.Since(t0)
	s.logf("%s: managed store ready in %v: pid %d, %s", name, s.starts.Round(time.Millisecond), c.pid, s.DSN())
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// readOutput copies the child's output to store.log, Logf and the tail,
// and closes c.ready at the readiness line.
func (s *Store) readOutput(c *child, r *os.File) {
	defer close(c.out)
	defer r.Close()
	prefix := s.be.readyPrefix()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	ready := false
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(s.logw, line)
		c.tail.add(line)
		if !ready && prefix != "" && strings.HasPrefix(line, prefix) {
			ready = true
			c.tail.setReady(line)
			close(c.ready)
			s.logf("%s[%d]: %s", s.spec.Driver, c.pid, line)
			continue
		}
		// Logf gets the start-up output (recovery notes) only, without the
		// refusals our own readiness polls cause; store.log gets it all.
		select {
		case <-c.ready:
		default:
			if !strings.Contains(line, "the database system is starting up") {
				s.logf("%s[%d]: %s", s.spec.Driver, c.pid, line)
			}
		}
	}
}

// killChild SIGKILLs c's process tree and waits until it is gone.
func (s *Store) killChild(c *child) error {
	desc := descendants(c.pid)
	if err := signalTree(c.pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: managed store: kill pid %d: %w", s.spec.Driver, c.pid, err)
	}
	select {
	case <-c.done:
	case <-time.After(killTimeout):
		return fmt.Errorf("%s: managed store: pid %d still there %v after SIGKILL", s.spec.Driver, c.pid, killTimeout)
	}
	if left := waitGone(desc, killTimeout); len(left) > 0 {
		return fmt.Errorf("%s: managed store: processes %v of pid %d still there %v after SIGKILL", s.spec.Driver, left, c.pid, killTimeout)
	}
	return nil
}

// stopChild asks c to shut down cleanly and SIGKILLs it after timeout.
func (s *Store) stopChild(c *child, timeout time.Duration) error {
	_ = signalTree(c.pid, syscall.SIGCONT) // a stopped store cannot shut down
	s.logf("%s: managed store: graceful stop of pid %d (%v)", s.spec.Driver, c.pid, s.be.gracefulSignal())
	if err := syscall.Kill(c.pid, s.be.gracefulSignal()); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: managed store: signal pid %d: %w", s.spec.Driver, c.pid, err)
	}
	select {
	case <-c.done:
		if left := waitGone(descendants(c.pid), killTimeout); len(left) > 0 {
			return s.killChild(c)
		}
		return nil
	case <-time.After(timeout):
		s.logf("%s: managed store pid %d did not stop within %v: SIGKILL", s.spec.Driver, c.pid, timeout)
		return s.killChild(c)
	}
}

// running returns the live child or an error saying the store is not
// running.
func (s *Store) running(op string) (*child, error) {
	if s.closed {
		return nil, fmt.Errorf("%s: managed store: %s after Close", s.spec.Driver, op)
	}
	c := s.cur.Load()
	if c == nil || c.exited() {
		return nil, fmt.Errorf("%s: managed store: %s: not running (Start it first)", s.spec.Driver, op)
	}
	return c, nil
}

// DSN addresses the store; drivers open it. It stays the same across
// restarts.
func (s *Store) DSN() string { return s.be.dsn(s.port) }

// Describe says what runs, for the result's environment section, e.g.
// "managed nats-server 2.15.2 (child pid 123), sync default (PubAck before
// fsync, fsync every 2m), data on faultfs".
func (s *Store) Describe() string {
	d := "managed " + s.be.describe(s)
	if s.fs != nil {
		d += ", data on faultfs"
	}
	return d
}

func (s *Store) pidText() string {
	if c := s.cur.Load(); c != nil {
		return fmt.Sprintf("child pid %d", c.pid)
	}
	return "not started"
}

// Durability is what an acknowledgement means, from the store's own
// configuration (Params).
func (s *Store) Durability() drivers.Durability {
	d := s.be.durability()
	d.Source = "managed store configuration"
	return d
}

// Kill SIGKILLs the store (for postgres the postmaster and every backend)
// and returns once it is gone. Start brings it back.
func (s *Store) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.running("Kill")
	if err != nil {
		return err
	}
	s.logf("%s: managed store: SIGKILL pid %d", s.spec.Driver, c.pid)
	return s.killChild(c)
}

// Stop freezes the store with SIGSTOP (its whole process tree). Cont
// resumes it.
func (s *Store) Stop() error { return s.signal("Stop", syscall.SIGSTOP) }

// Cont resumes a stopped store with SIGCONT.
func (s *Store) Cont() error { return s.signal("Cont", syscall.SIGCONT) }

func (s *Store) signal(op string, sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.running(op)
	if err != nil {
		return err
	}
	if err := signalTree(c.pid, sig); err != nil {
		return fmt.Errorf("%s: managed store: %s pid %d: %w", s.spec.Driver, op, c.pid, err)
	}
	if sig == syscall.SIGSTOP {
		// A signal is delivered asynchronously: return once the store is
		// frozen, so a fault window starts when the store really stops.
		if st, ok := waitStopped(c.pid, 2*time.Second); !ok {
			s.logf("%s: managed store: pid %d not stopped 2s after SIGSTOP (state %q); the freeze starts late", s.spec.Driver, c.pid, st)
		}
	}
	return nil
}

// waitStopped polls pid's state until it is stopped ('T', or 't' when
// traced), within limit; it returns the last state seen.
func waitStopped(pid int, limit time.Duration) (byte, bool) {
	deadline := time.Now().Add(limit)
	for {
		_, st, ok := procStat(pid)
		if !ok || st == 'T' || st == 't' {
			return st, true // gone counts as stopped: nothing runs
		}
		if time.Now().After(deadline) {
			return st, false
		}
		time.Sleep(time.Millisecond)
	}
}

// Restart stops the store gracefully (SIGTERM; postgres: SIGINT, a fast
// shutdown), SIGKILLing it if that takes over 30 s, and starts it again on
// the same data and port.
func (s *Store) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.running("Restart")
	if err != nil {
		return err
	}
	if err := s.stopChild(c, stopTimeout); err != nil {
		return err
	}
	return s.start(ctx)
}

// Start starts the store again after Kill or PowerLoss (same port, same
// data) and returns once it accepts connections; it fails when the store
// is running.
func (s *Store) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: managed store: Start after Close", s.spec.Driver)
	}
	return s.start(ctx)
}

// FS is the fault filesystem under the store's data, nil unless
// Spec.FaultFS.
func (s *Store) FS() *faultfs.FS { return s.fs }

// Running reports whether the store process is alive (a stopped store is).
func (s *Store) Running() bool {
	c := s.cur.Load()
	return c != nil && !c.exited()
}

// Dir is the directory holding everything of the store: data/ (the store's
// data directory), store.log (its output) and, under FaultFS, backing/.
func (s *Store) Dir() string { return s.root }

// StartupTime is how long the last successful start took, from spawning
// the process to its first answer.
func (s *Store) StartupTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// Close stops the store (gracefully, SIGKILL after 10 s), unmounts the
// fault filesystem and removes a temp directory unless KeepData. It is
// idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if c := s.cur.Load(); c != nil && !c.exited() {
		if err := s.stopChild(c, closeTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.release())
	return errors.Join(errs...)
}

// tailBuf keeps the last lines of the child's output for error messages.
type tailBuf struct {
	mu    sync.Mutex
	lines []string
	ready string // the readiness line
}

func (t *tailBuf) setReady(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ready = line
}

func (t *tailBuf) readyLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ready
}

const tailLines = 20

func (t *tailBuf) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == tailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:tailLines-1]
	}
	t.lines = append(t.lines, line)
}

func (t *tailBuf) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "  (none)"
	}
	return "  " + strings.Join(t.lines, "\n  ")
}
