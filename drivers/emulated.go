package drivers

// EmulationReporter is implemented by drivers that can run against an
// emulator or fake of a cloud service (pstest for Pub/Sub, an SQS
// emulator) rather than the service itself. Such a run checks the driver
// and the workload, but its latencies are those of a process on this
// machine, not of the service: the result is labelled driver.emulated and
// every report says its latency figures are not meaningful.
//
// Real protocol implementations (kfake, an embedded nats-server, refstore)
// are not emulators and do not implement it.
type EmulationReporter interface {
	// Emulated is true, with what emulates the service, when the
	// connection talks to an emulator or fake.
	Emulated() (emulated bool, what string)
}

// IsEmulated reports what d declares (false for drivers without
// EmulationReporter).
func IsEmulated(d Driver) (bool, string) {
	if e, ok := d.(EmulationReporter); ok {
		return e.Emulated()
	}
	return false, ""
}
