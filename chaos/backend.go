package chaos

import "context"

// toxicSpec is one toxic as Toxiproxy's JSON API spells it. The same body is
// used in-process (AddToxicJson) and against an external server.
type toxicSpec struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// backend is the small set of Toxiproxy operations the fault layer needs, so
// the in-process library and an external server are interchangeable.
type backend interface {
	// create starts a proxy and returns the address it listens on.
	create(ctx context.Context, name, listen, upstream string) (string, error)
	addToxic(ctx context.Context, proxy string, t toxicSpec) error
	removeToxic(ctx context.Context, proxy, toxic string) error
	// setEnabled stops (closing live connections) or restarts a proxy on the
	// same listen address.
	setEnabled(ctx context.Context, proxy string, on bool) error
	// remove deletes a proxy with its toxics and closes its connections.
	remove(ctx context.Context, proxy string) error
	// close releases the backend itself (not the proxies).
	close()
}
