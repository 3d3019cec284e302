// Package torture proves refstore's crash safety: it runs a server as a
// child process, appends from concurrent writers while recording every
// acknowledgement, SIGKILLs the child at a random moment, restarts it and
// checks that every acknowledged event is present exactly once, at its
// acknowledged position, in order, with a valid CRC.
package torture

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/evbench/evbench/drivers"
	"github.com/evbench/evbench/drivers/refstore"
)

// Config sets up a torture run. Zero values take the documented defaults.
type Config struct {
	Cycles  int    // kill/restart cycles; default 3
	Dir     string // data dir; required
	Writers int    // concurrent writers; default 4
	// Command builds the child server command for dir. Default: this
	// executable with `refstore serve --dir DIR --addr 127.0.0.1:0`.
	Command func(dir string) *exec.Cmd
	// MinRun and MaxRun bound the random time before the kill; default
	// 200ms and 1.5s.
	MinRun, MaxRun time.Duration
	Out            io.Writer // one line per cycle; nil discards
	Seed           uint64    // 0 picks one
}

// Result is the tally over all cycles.
type Result struct {
	Cycles     int
	Acked      int64
	Lost       int64
	Duplicated int64
	Corrupt    int64
}

// OK reports a run without loss, duplication or corruption.
func (r Result) OK() bool { return r.Lost == 0 && r.Duplicated == 0 && r.Corrupt == 0 }

func (r Result) String() string {
	return fmt.Sprintf("cycles=%d acked=%d lost=%d duplicated=%d corrupt=%d", r.Cycles, r.Acked, r.Lost, r.Duplicated, r.Corrupt)
}

// DefaultCommand re-executes the running binary as `refstore serve`.
func DefaultCommand(dir string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, "refstore", "serve", "--dir", dir, "--addr", "127.0.0.1:0", "--sync", "always")
}

type child struct {
	cmd   *exec.Cmd
	addr  string
	lines chan string
}

// start runs the child and waits for its readiness line.
func start(ctx context.Context, build func(string) *exec.Cmd, dir string) (*child, error) {
	cmd := build(dir)
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("torture: start server %s: %w", cmd.Path, err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 64)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, refstore.ReadyPrefix) {
				f := strings.Fields(strings.TrimPrefix(line, refstore.ReadyPrefix))
				if len(f) > 0 {
					ready <- f[0]
				}
			}
			select {
			case c.lines <- line:
			default:
			}
		}
		close(ready)
	}()
	select {
	case a, ok := <-ready:
		if !ok {
			cmd.Wait()
			return nil, fmt.Errorf("torture: server exited before it was ready: %s", drain(c.lines))
		}
		c.addr = a
		return c, nil
	case <-time.After(15 * time.Second):
		c.kill()
		return nil, fmt.Errorf("torture: server not ready within 15s: %s", drain(c.lines))
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	}
}

func drain(ch chan string) string {
	var out []string
	for {
		select {
		case l := <-ch:
			out = append(out, l)
		default:
			return strings.Join(out, " | ")
		}
	}
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	return c.cmd.Wait()
}

// ledger is every acknowledged event: ID -> position.
type ledger struct {
	mu    sync.Mutex
	acked map[[16]byte]int64
}

// Run performs cfg.Cycles kill/restart cycles and a final verification.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Dir == "" {
		return Result{}, errors.New("torture: Dir is required (a data directory for the child server)")
	}
	if cfg.Cycles <= 0 {
		cfg.Cycles = 3
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 4
	}
	if cfg.Command == nil {
		cfg.Command = DefaultCommand
	}
	if cfg.MinRun <= 0 {
		cfg.MinRun = 200 * time.Millisecond
	}
	if cfg.MaxRun <= cfg.MinRun {
		cfg.MaxRun = max(cfg.MinRun*2, 1500*time.Millisecond)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 7))
	led := &ledger{acked: map[[16]byte]int64{}}
	var res Result
	var counter uint64
	for cycle := 1; cycle <= cfg.Cycles+1; cycle++ {
		c, err := start(ctx, cfg.Command, cfg.Dir)
		if err != nil {
			return res, err
		}
		lost, dup, corrupt, head, err := verify(ctx, c.addr, led)
		if err != nil {
			c.kill()
			return res, err
		}
		res.Lost += lost
		res.Duplicated += dup
		res.Corrupt += corrupt
		if cycle > cfg.Cycles {
			fmt.Fprintf(cfg.Out, "final: head=%d acked=%d lost=%d duplicated=%d corrupt=%d\n", head, len(led.acked), lost, dup, corrupt)
			if err := c.stop(); err != nil {
				return res, fmt.Errorf("torture: graceful stop: %w", err)
			}
			break
		}
		run := cfg.MinRun + time.Duration(rng.Int64N(int64(cfg.MaxRun-cfg.MinRun)))
		n, werr := write(ctx, c, led, cfg.Writers, run, &counter)
		res.Cycles = cycle
		fmt.Fprintf(cfg.Out, "cycle %d/%d: verified head=%d lost=%d duplicated=%d corrupt=%d; wrote for %v, acked %d, then SIGKILL\n",
			cycle, cfg.Cycles, head, lost, dup, corrupt, run.Round(time.Millisecond), n)
		if werr != nil {
			return res, werr
		}
	}
	res.Acked = int64(len(led.acked))
	return res, nil
}

// write appends from several writers until it kills the child after run.
func write(ctx context.Context, c *child, led *ledger, writers int, run time.Duration, counter *uint64) (int64, error) {
	d, err := refstore.Open(ctx, "refstore://"+c.addr, drivers.Options{})
	if err != nil {
		c.kill()
		return 0, fmt.Errorf("torture: connect: %w", err)
	}
	defer d.Close()
	var mu sync.Mutex
	var acked int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := 1 + i%4
				batch := make([]drivers.Event, n)
				mu.Lock()
				for j := range batch {
					*counter++
					var id [16]byte
					binary.BigEndian.PutUint64(id[:8], 0x746f7274757265) // "torture"
					binary.BigEndian.PutUint64(id[8:], *counter)
					batch[j] = drivers.Event{ID: id, Key: fmt.Sprintf("w%d", w), Seq: *counter, Type: "Tortured",
						Payload: make([]byte, 64+int(*counter%200)), CreatedAt: time.Now().UnixNano()}
				}
				mu.Unlock()
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				pos, err := d.Append(actx, batch)
				cancel()
				if err != nil {
					select {
					case <-stop:
						return
					default:
						time.Sleep(5 * time.Millisecond)
						continue
					}
				}
				led.mu.Lock()
				for j, p := range pos {
					led.acked[batch[j].ID] = p.Offset
				}
				led.mu.Unlock()
				mu.Lock()
				acked += int64(n)
				mu.Unlock()
			}
		}(w)
	}
	select {
	case <-time.After(run):
	case <-ctx.Done():
	}
	c.cmd.Process.Signal(syscall.SIGKILL) // writers still appending: a real crash
	close(stop)
	wg.Wait()
	c.cmd.Wait()
	return acked, ctx.Err()
}

// verify reads the whole log through the driver (which checks every CRC and
// that positions are contiguous) and compares it to the ledger.
func verify(ctx context.Context, addr string, led *ledger) (lost, dup, corrupt int64, head int64, err error) {
	d, err := refstore.Open(ctx, "refstore://"+addr, drivers.Options{})
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("torture: connect for verification: %w", err)
	}
	defer d.Close()
	h, err := d.Head(ctx)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("torture: head: %w", err)
	}
	head = h[0]
	seen := make(map[[16]byte]int64, head)
	var dupes int64
	if head > 0 {
		sctx, cancel := context.WithCancel(ctx)
		done := errors.New("done")
		serr := d.Subscribe(sctx, nil, func(b []drivers.Delivered) error {
			for _, e := range b {
				if _, ok := seen[e.ID]; ok {
					dupes++
				}
				seen[e.ID] = e.Position.Offset
			}
			if b[len(b)-1].Position.Offset+1 >= head {
				return done
			}
			return nil
		})
		cancel()
		if serr != nil && !errors.Is(serr, done) {
			if strings.Contains(serr.Error(), "corrupt") {
				corrupt++
			} else {
				return 0, 0, 0, head, fmt.Errorf("torture: read back: %w", serr)
			}
		}
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	for id, p := range led.acked {
		got, ok := seen[id]
		switch {
		case !ok:
			lost++
		case got != p:
			corrupt++ // present, but not where it was acknowledged
		}
	}
	return lost, dupes, corrupt, head, nil
}
