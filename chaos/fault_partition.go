package chaos

// partitionFault stops all traffic both ways while connections stay open and
// hang, like a network partition: Toxiproxy's timeout toxic with timeout 0 on
// both streams. When it ends, Toxiproxy closes the connections it touched
// (clients see ECONNRESET and must reconnect), as after a real partition
// that outlived TCP keepalives. It takes no parameters.
type partitionFault struct{}

func init() { register("partition", true, func() faultKind { return new(partitionFault) }) }

func (f *partitionFault) parse(*paramReader) {}

func (f *partitionFault) effect(toxicity float64) effect {
	return effect{toxics: toxicsOn("timeout", []string{"upstream", "downstream"}, toxicity, map[string]any{"timeout": 0})}
}
