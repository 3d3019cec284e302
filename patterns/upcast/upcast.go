// Package upcast makes old event versions readable: a registry of
// upcasters, one per (event type, version it reads), each turning the JSON
// data of version n into version n+1, chained up to the version a reader
// knows; and the decode step a reader runs on every payload (parse the
// envelope, read type and version, upcast, or report the event unreadable
// with a typed error).
//
// It is the pattern event-sourced systems use when a schema changes: old
// events stay in the store as written, and readers upgrade them on the way
// in. Catalogue builds the upcasters of evbench's own event catalogue from
// the changes fixtures/envelope declares per version, so the producer's
// payloads and the reader's upgrades come from one table.
//
// A Registry is safe for concurrent reads once built; a Reader is too (it
// keeps no state). Stats is for one goroutine.
package upcast

import (
	"errors"
	"fmt"
	"sort"
)

// Upcaster turns the JSON data object of one version of a type into the
// next version's. It must not modify data (payloads are shared); it returns
// new bytes.
type Upcaster func(data []byte) ([]byte, error)

type step struct {
	typ  string
	from int
}

// Registry holds upcasters by type and the version they read.
type Registry struct {
	ups map[step]Upcaster
}

// NewRegistry returns an empty registry: a reader with it upcasts nothing.
func NewRegistry() *Registry { return &Registry{ups: map[step]Upcaster{}} }

// Register adds the upcaster from version from of typ to from+1. Each
// step has one upcaster: a second registration is an error, as is a
// version below 1 or a nil upcaster.
func (r *Registry) Register(typ string, from int, u Upcaster) error {
	switch {
	case typ == "":
		return errors.New("upcast: register: empty event type")
	case from < 1:
		return fmt.Errorf("upcast: register %s: version %d; versions start at 1", typ, from)
	case u == nil:
		return fmt.Errorf("upcast: register %s v%d: nil upcaster", typ, from)
	}
	k := step{typ, from}
	if _, dup := r.ups[k]; dup {
		return fmt.Errorf("upcast: register %s v%d -> v%d: already registered; one upcaster per step", typ, from, from+1)
	}
	r.ups[k] = u
	return nil
}

// Has reports whether an upcaster from version from of typ is registered.
func (r *Registry) Has(typ string, from int) bool {
	if r == nil {
		return false
	}
	_, ok := r.ups[step{typ, from}]
	return ok
}

// Steps lists the registered steps as "Type vN->vN+1", sorted (for logs
// and docs).
func (r *Registry) Steps() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.ups))
	for k := range r.ups {
		out = append(out, fmt.Sprintf("%s v%d->v%d", k.typ, k.from, k.from+1))
	}
	sort.Strings(out)
	return out
}

// Upcast chains the upcasters of typ from version from to version to
// (from <= to) and returns the data at version to and the number of steps
// taken. A missing step is an *UnreadableError (ReasonNoUpcaster); an
// upcaster's own failure one with ReasonMalformed.
func (r *Registry) Upcast(typ string, from, to int, data []byte) ([]byte, int, error) {
	n := 0
	for v := from; v < to; v++ {
		var u Upcaster
		if r != nil {
			u = r.ups[step{typ, v}]
		}
		if u == nil {
			return data, n, &UnreadableError{Type: typ, Version: from, ReaderVersion: to, Reason: ReasonNoUpcaster, Missing: v}
		}
		out, err := u(data)
		if err != nil {
			return data, n, &UnreadableError{Type: typ, Version: from, ReaderVersion: to, Reason: ReasonMalformed, Err: fmt.Errorf("upcaster v%d->v%d: %w", v, v+1, err)}
		}
		data = out
		n++
	}
	return data, n, nil
}

// Reason says why an event is unreadable.
type Reason string

// Reasons of UnreadableError.
const (
	// ReasonTooNew: the event's version is newer than the reader knows.
	ReasonTooNew Reason = "too-new"
	// ReasonNoUpcaster: the event is older than the reader and a step of
	// the chain up to the reader's version has no upcaster.
	ReasonNoUpcaster Reason = "no-upcaster"
	// ReasonMalformed: the payload is not an envelope, or an upcaster
	// failed on its data.
	ReasonMalformed Reason = "malformed"
)

// UnreadableError is an event a reader cannot turn into the version it
// knows. Use errors.As to get it from Decode's error.
type UnreadableError struct {
	Type          string // "" when the envelope could not be parsed
	Version       int    // the event's version as written
	ReaderVersion int    // the version the reader knows of Type
	Reason        Reason
	Missing       int   // ReasonNoUpcaster: the step from Missing to Missing+1
	Err           error // ReasonMalformed: the cause
}

func (e *UnreadableError) Error() string {
	switch e.Reason {
	case ReasonTooNew:
		return fmt.Sprintf("upcast: %s v%d is newer than this reader's v%d; deploy a reader that knows it", e.Type, e.Version, e.ReaderVersion)
	case ReasonNoUpcaster:
		return fmt.Sprintf("upcast: %s v%d cannot be read at v%d: no upcaster v%d->v%d registered", e.Type, e.Version, e.ReaderVersion, e.Missing, e.Missing+1)
	default:
		return fmt.Sprintf("upcast: %s v%d is malformed: %v", e.Type, e.Version, e.Err)
	}
}

func (e *UnreadableError) Unwrap() error { return e.Err }
