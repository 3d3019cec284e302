package chaos

// downFault takes the path's proxies down: live connections are closed and
// new dials are refused, as when the store's host is gone. At the end the
// proxies listen again on the same ports. No parameters, no toxicity.
type downFault struct{}

func init() { register("down", false, func() faultKind { return new(downFault) }) }

func (f *downFault) parse(*paramReader) {}

func (f *downFault) effect(float64) effect { return effect{down: true} }
