// Package supervisor runs a store as a child process evbench controls: a
// managed store (`evbench run --managed`). The store's data lives in a
// directory of its own (a temp dir unless Spec.DataDir), optionally mounted
// through chaos/faultfs, and the supervisor can SIGKILL it, SIGSTOP/SIGCONT
// it, restart it gracefully, start it again on the same data and port, and
// cut its power (kill, then roll back every write no fsync covered).
//
// Managed drivers:
//
//   - refstore: `evbench refstore serve --addr 127.0.0.1:P --dir D --sync S`
//   - nats: `evbench nats serve --addr 127.0.0.1:P --dir D --sync default|always`
//     (nats-server linked into evbench)
//   - postgres: the postmaster itself (`postgres -D D -p P ...`) after
//     initdb, run as the postgres user when evbench is root
//
// Children never outlive evbench, even when evbench is SIGKILLed: every
// child is started with Pdeathsig SIGKILL from one OS thread that is locked
// for the life of the process and never exits (see spawn_linux.go), so the
// kernel's "parent thread died" signal fires only when evbench itself dies.
// Each child leads its own process group (Setpgid), so signals to the store
// never reach evbench, and a terminal's Ctrl-C reaches evbench only, which
// stops the store in order.
package supervisor
