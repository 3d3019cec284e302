// Package chaos is evbench's fault layer: it puts a Toxiproxy proxy between
// every driver connection and the store, per path ("producer": the appending
// clients, "consumer": the projectors), and executes a scenario's fault
// timeline on the run's clock, independently of load.
//
// Toxiproxy runs in-process by default (no server to install) or is driven
// through an external server's HTTP API (Options.External). Either way the
// Chaos value owns every proxy it created and Close removes exactly those.
//
// Fault kinds live in one file each (fault_<kind>.go) and register by name,
// Toxiproxy's own style: a struct holding the parsed parameters and a method
// returning what the fault does to a proxy while it is active.
package chaos
