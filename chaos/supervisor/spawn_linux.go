package supervisor

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Why one locked thread. Pdeathsig (prctl PR_SET_PDEATHSIG) fires when the
// *thread* that forked the child exits, not the process (prctl(2); golang/go
// issue 27505). The Go runtime runs exec.Cmd.Start on whatever thread the
// calling goroutine happens to be on, and it terminates a thread whenever a
// goroutine locked to it (runtime.LockOSThread, used by many libraries)
// exits without unlocking: a child forked there would be SIGKILLed at a
// random moment. So every child is forked by one goroutine that locks its
// thread on first use and never unlocks or returns: that thread lives
// exactly as long as the process, and the kernel kills the children when the
// process dies, however it dies (SIGKILL, OOM, panic). Go applies the
// prctl in the child after setuid/setgid (which would clear it) and kills
// the child at once if the parent died before the prctl.

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

var (
	spawnOnce sync.Once
	spawnCh   chan spawnReq
)

func spawner() {
	runtime.LockOSThread() // never unlocked: this thread must outlive every child
	for r := range spawnCh {
		r.err <- r.cmd.Start()
	}
}

// spawn starts cmd from the locked spawner thread with Setpgid and
// Pdeathsig SIGKILL (any Credential already set is kept).
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan spawnReq)
		go spawner()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawnCh <- r
	return <-r.err
}

// credential returns a SysProcAttr that runs a child as uid:gid.
func credential(uid, gid uint32) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
}

// signalTree sends sig to pid's process group, pid itself and every
// descendant of pid (Postgres backends call setsid, so they leave the
// postmaster's group and a group signal misses them). For SIGKILL and
// SIGSTOP it first stops pid so it cannot fork while its descendants are
// collected.
func signalTree(pid int, sig syscall.Signal) error {
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	desc := descendants(pid)
	for _, d := range desc {
		_ = syscall.Kill(d, sig)
	}
	_ = syscall.Kill(-pid, sig)
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// descendants lists pid's descendants from /proc, children first.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, _, ok := procStat(p); ok {
			kids[pp] = append(kids[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// procStat reads the parent pid and state of pid from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')') // comm may hold spaces and parentheses
	if i < 0 || i+2 >= len(b) {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// waitGone waits until none of pids is alive, or d passed; it returns the
// ones still alive.
func waitGone(pids []int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(10 * time.Millisecond)
	}
}
