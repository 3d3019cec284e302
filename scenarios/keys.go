package scenarios

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// KeyPicker picks the index (0 <= i < Keys.Count) of the aggregate key of the
// next event. Implementations are safe for concurrent use and, except
// roundrobin (an atomic position), immutable: the *rand.Rand carries the
// state, one per goroutine.
type KeyPicker interface {
	Pick(r *rand.Rand) int
}

// KeyPickerFactory builds a picker from validated parameters; it returns an
// error naming the field and the fix for parameters it cannot use.
type KeyPickerFactory func(k Keys) (KeyPicker, error)

var (
	distMu sync.RWMutex
	dists  = map[string]KeyPickerFactory{}
)

// RegisterDistribution makes a key distribution available by its YAML name.
// One file per distribution registers itself in init; a duplicate name
// panics, as sql.Register does, because it is a programming error.
func RegisterDistribution(name string, f KeyPickerFactory) {
	distMu.Lock()
	defer distMu.Unlock()
	if _, dup := dists[name]; dup {
		panic("scenarios: distribution " + name + " registered twice")
	}
	dists[name] = f
}

// Distributions lists the registered distribution names, sorted.
func Distributions() []string {
	distMu.RLock()
	defer distMu.RUnlock()
	names := make([]string, 0, len(dists))
	for n := range dists {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewKeyPicker builds the picker for k.Distribution ("" means uniform).
func NewKeyPicker(k Keys) (KeyPicker, error) {
	name := k.Distribution
	if name == "" {
		name = DefaultDistribution
	}
	distMu.RLock()
	f, ok := dists[name]
	distMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("events.keys.distribution: unknown distribution %q; use one of: %s", name, strings.Join(Distributions(), ", "))
	}
	if k.Count < 1 {
		return nil, fmt.Errorf("events.keys.count: %d; need at least 1 key", k.Count)
	}
	return f(k)
}

// keyPrefix makes keys look like aggregate ids in an order system.
const keyPrefix = "order-"

// KeyName is the aggregate key string for index i ("order-17"). One
// allocation, no fmt: it sits on the generator's hot path.
func KeyName(i int) string {
	var buf [32]byte
	b := append(buf[:0], keyPrefix...)
	b = strconv.AppendInt(b, int64(i), 10)
	return string(b)
}
