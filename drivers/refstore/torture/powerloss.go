package torture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/evbench/evbench/drivers/refstore/engine"
	"github.com/evbench/evbench/drivers/refstore/record"
	"github.com/evbench/evbench/drivers/refstore/vfs"
)

// PowerConfig sets up a power-loss torture run through the in-process
// fault file layer (vfs.Mem). Zero values take the documented defaults.
type PowerConfig struct {
	Cycles int             // power cuts; default 1000
	Sync   engine.SyncMode // the engine's durability mode; default always
	// Writers append concurrently, each keeping up to InFlight appends of
	// 1-3 events pipelined; defaults 4 and 8.
	Writers, InFlight int
	// MaxCalls bounds the random cut point: the power goes off at a
	// uniformly random mutating file call (write, sync, rename, ...) in
	// [1, MaxCalls] after the engine opened; default 150.
	MaxCalls int64
	// Epoch is how many cycles one log lives (recovering again and again)
	// before a fresh one starts, which keeps verification cheap; default 10.
	Epoch       int
	SegmentSize int64     // default 32 KiB, so segments roll and checkpoint
	Seed        uint64    // 0 picks one
	Out         io.Writer // a summary line every 100 cycles; nil discards
}

// PowerResult is the tally of a power-loss run.
type PowerResult struct {
	Seed    uint64
	Sync    engine.SyncMode
	Cycles  int
	Acked   int64 // acknowledged events, over all cycles
	Lost    int64 // acknowledged events missing after recovery
	Corrupt int64 // acknowledged events present but with other content
	Refused int   // recoveries that refused to open (a bug, or real damage)
	// What recovery did: torn tails cut, unacknowledged tails with valid
	// records beyond a hole cut (the durable watermark case), and cuts
	// that hit during recovery itself.
	TornTails, Holes, CutInRecovery int
	// Crashes are cycles that ended in a process crash instead (the page
	// cache survives, unsynced data included; the next power cut is then
	// the test of what recovery made durable).
	Crashes int
	// Stalls are cycles where the armed cut never came (a torture bug; the
	// watchdog cut the power itself). They make the run not OK.
	Stalls  int
	Elapsed time.Duration
}

// OK reports a run where nothing acknowledged was lost or damaged and every
// recovery opened.
func (r PowerResult) OK() bool {
	return r.Lost == 0 && r.Corrupt == 0 && r.Refused == 0 && r.Stalls == 0
}

func (r PowerResult) String() string {
	return fmt.Sprintf("power-loss sync=%s cycles=%d acked=%d lost=%d corrupt=%d refused=%d torn_tails=%d holes_cut=%d cut_in_recovery=%d crashes=%d stalls=%d seed=%d elapsed=%s",
		r.Sync, r.Cycles, r.Acked, r.Lost, r.Corrupt, r.Refused, r.TornTails, r.Holes, r.CutInRecovery, r.Crashes, r.Stalls, r.Seed, r.Elapsed.Round(time.Millisecond))
}

type ack struct {
	pos uint64
	n   uint64 // event number: its ID and payload derive from it
}

func powerEvent(n uint64, stream int) engine.Event {
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:], n)
	copy(id[8:], "pwrloss!")
	return engine.Event{ID: id, Stream: fmt.Sprintf("s%d", stream), Seq: n, Type: "T", Payload: powerPayload(n), CreatedAt: int64(n)}
}

func powerPayload(n uint64) []byte {
	p := fmt.Appendf(nil, "event-%d-", n)
	return append(p, bytes.Repeat([]byte{byte('a' + n%26)}, int(16+n*7919%200))...)
}

// RunPowerLoss appends from pipelining writers, cuts the power at a random
// mutating file call, rolls the files back as a power loss would (vfs.Mem:
// unsynced writes dropped, kept or torn at random, names back to the last
// directory sync), recovers by opening the engine on them and checks every
// acknowledged event: present at its acknowledged position with its
// content (the reader verifies each CRC). Under sync=always nothing may be
// lost; under sync=none losses are expected (the proof the check can fail).
// An error means the run could not go on (not a verdict); see OK.
func RunPowerLoss(cfg PowerConfig) (PowerResult, error) {
	if cfg.Cycles <= 0 {
		cfg.Cycles = 1000
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 4
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 8
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 150
	}
	if cfg.Epoch <= 0 {
		cfg.Epoch = 10
	}
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = 32 << 10
	}
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	res := PowerResult{Seed: cfg.Seed, Sync: cfg.Sync}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	start := time.Now()
	var (
		m      *vfs.Mem
		ledger []ack
		next   uint64
	)
	opts := func() engine.Options {
		return engine.Options{FS: m, Sync: cfg.Sync, SegmentSize: cfg.SegmentSize, IndexEvery: 64,
			DedupeWindow: 1 << 14, WatermarkInterval: time.Millisecond}
	}
	for c := 0; c < cfg.Cycles; c++ {
		if c%cfg.Epoch == 0 {
			m, ledger = vfs.NewMem(rng.Uint64()), nil
		}
		// Open (recovering from the previous cut); now and then the power
		// goes off during recovery too.
		var l *engine.Log
		for {
			if c%cfg.Epoch != 0 && rng.IntN(10) == 0 {
				m.CutAfter(1 + rng.Int64N(8))
			}
			var err error
			l, err = engine.Open("/data", opts())
			if err == nil {
				m.CutAfter(0)
				if !m.IsCut() {
					break
				}
				l.Close() // the armed cut hit the new log's first calls
			}
			if err != nil && !m.IsCut() {
				res.Refused++
				fmt.Fprintf(out(cfg.Out), "cycle %d: recovery refused: %v\n", c, err)
				m, ledger = vfs.NewMem(rng.Uint64()), nil
				continue
			}
			res.CutInRecovery++
			m.SetTear(rng.IntN(4) != 0)
			m.Restart()
		}
		m.CutAfter(0)
		if c%cfg.Epoch != 0 {
			rep := l.Recovery()
			if rep.TruncatedBytes > 0 {
				res.TornTails++
			}
			for _, n := range rep.Notes {
				if strings.Contains(n, "unacknowledged tail") {
					res.Holes++
				}
			}
			lost, corrupt, kept, err := checkAcked(l, ledger)
			if err != nil {
				l.Close()
				return res, fmt.Errorf("refstore torture: cycle %d: read back: %w", c, err)
			}
			if lost+corrupt > 0 {
				fmt.Fprintf(out(cfg.Out), "cycle %d: %d acknowledged events lost, %d corrupt after the power cut\n", c, lost, corrupt)
			}
			res.Lost += lost
			res.Corrupt += corrupt
			ledger = kept
		}
		// Append until the power goes off at a random call (in 1 cycle
		// of 8 the process crashes there instead).
		crash := rng.IntN(8) == 0
		if crash {
			m.CrashAfter(1 + rng.Int64N(cfg.MaxCalls))
		} else {
			m.CutAfter(1 + rng.Int64N(cfg.MaxCalls))
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		armedAt := m.Calls()
		watchDone := make(chan struct{})
		go func() {
			for {
				select {
				case <-watchDone:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if m.Calls()-armedAt > cfg.MaxCalls+1000 {
					// A torture bug, not a store verdict: say so and go on.
					fmt.Fprintf(out(cfg.Out), "cycle %d: watchdog: no cut after %d calls (crash=%v, %s): cutting now\n", c, m.Calls()-armedAt, crash, m.Debug())
					mu.Lock()
					res.Stalls++
					mu.Unlock()
					m.CutNow()
					return
				}
			}
		}()
		for w := 0; w < cfg.Writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				sem := make(chan struct{}, cfg.InFlight)
				var failed sync.Once
				stop := make(chan struct{})
				r := rand.New(rand.NewPCG(cfg.Seed^uint64(c), uint64(w)))
				for {
					select {
					case <-stop:
						for range cfg.InFlight {
							sem <- struct{}{}
						}
						return
					case sem <- struct{}{}:
					}
					k := 1 + r.IntN(3)
					mu.Lock()
					first := next
					next += uint64(k)
					mu.Unlock()
					evs := make([]engine.Event, k)
					for i := range evs {
						evs[i] = powerEvent(first+uint64(i), w)
					}
					l.AppendAsync(engine.AppendRequest{Expected: engine.ExpectAny, Events: evs}, func(pos []uint64, err error) {
						if err != nil {
							failed.Do(func() { close(stop) })
						} else {
							mu.Lock()
							for i, p := range pos {
								ledger = append(ledger, ack{pos: p, n: first + uint64(i)})
							}
							res.Acked += int64(len(pos))
							mu.Unlock()
						}
						<-sem
					})
				}
			}(w)
		}
		wg.Wait()
		close(watchDone)
		if crash {
			m.Crash() // in case the writers stopped for another reason
			l.Close()
			res.Crashes++
		} else {
			m.CutNow() // in case the writers stopped for another reason
			l.Close()
			m.SetTear(rng.IntN(4) != 0)
			m.Restart()
		}
		res.Cycles++
		if cfg.Out != nil && res.Cycles%100 == 0 && res.Cycles < cfg.Cycles {
			res.Elapsed = time.Since(start)
			fmt.Fprintf(cfg.Out, "%s\n", res)
		}
	}
	// The last cut's recovery and check.
	l, err := engine.Open("/data", opts())
	if err != nil {
		res.Refused++
		fmt.Fprintf(out(cfg.Out), "final recovery refused: %v\n", err)
	} else {
		lost, corrupt, _, err := checkAcked(l, ledger)
		l.Close()
		if err != nil {
			return res, fmt.Errorf("refstore torture: final read back: %w", err)
		}
		res.Lost += lost
		res.Corrupt += corrupt
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func out(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// checkAcked reads the whole recovered log (CRC-verified) and checks each
// acknowledged event; it returns the ledger without the lost or corrupt
// ones, so each is counted once.
func checkAcked(l *engine.Log, ledger []ack) (lost, corrupt int64, kept []ack, err error) {
	recs := map[uint64]record.Record{}
	r, err := l.NewReader(0)
	if err != nil {
		return 0, 0, nil, err
	}
	for {
		raw, n, err := r.Read(nil, 1<<20)
		if err != nil {
			return 0, 0, nil, err
		}
		if n == 0 {
			break
		}
		for len(raw) > 0 {
			rec, k, err := record.Decode(raw)
			if err != nil {
				return 0, 0, nil, err
			}
			rec.Payload = append([]byte(nil), rec.Payload...)
			recs[rec.Position] = rec
			raw = raw[k:]
		}
	}
	kept = ledger[:0]
	for _, a := range ledger {
		rec, ok := recs[a.pos]
		want := powerEvent(a.n, 0)
		switch {
		case !ok || rec.ID != want.ID:
			lost++
		case !bytes.Equal(rec.Payload, want.Payload) || rec.Seq != a.n:
			corrupt++
		default:
			kept = append(kept, a)
		}
	}
	return lost, corrupt, kept, nil
}
