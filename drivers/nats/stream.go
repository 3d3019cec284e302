package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

func (d *Driver) streamConfig() jetstream.StreamConfig {
	st := jetstream.FileStorage
	if d.cfg.Storage == "memory" {
		st = jetstream.MemoryStorage
	}
	return jetstream.StreamConfig{
		Name:       d.cfg.Stream,
		Subjects:   []string{d.cfg.Subjects},
		Storage:    st,
		Replicas:   d.cfg.Replicas,
		Duplicates: d.cfg.DupeWindow,
	}
}

// ensureStream creates the stream when missing and checks an existing one:
// a different storage or subjects not covering ours would make the run
// measure something else than the DSN says.
func (d *Driver) ensureStream(ctx context.Context) error {
	want := d.streamConfig()
	s, err := d.js.Stream(ctx, d.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = d.js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = d.js.Stream(ctx, d.cfg.Stream) // created concurrently by our other side
		}
		if err != nil {
			return fmt.Errorf("nats: create stream %s (subjects %s): %w; if subjects overlap another stream, choose another ?subjects=", d.cfg.Stream, d.cfg.Subjects, err)
		}
		d.opts.Log("nats: created stream %s (subjects %s, %s storage)", d.cfg.Stream, d.cfg.Subjects, d.cfg.Storage)
	} else if err != nil {
		return fmt.Errorf("nats: look up stream %s: %w", d.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("nats: stream %s info: %w", d.cfg.Stream, err)
	}
	got := info.Config
	if got.Storage != want.Storage {
		return fmt.Errorf("nats: stream %s exists with %s storage, the DSN asks for storage=%s; reset it (--reset), use storage=%s or choose another ?stream=",
			d.cfg.Stream, got.Storage, d.cfg.Storage, strings.ToLower(got.Storage.String()))
	}
	covered := false
	for _, pat := range got.Subjects {
		if subjectCovers(pat, d.cfg.Subjects) {
			covered = true
		}
	}
	if !covered {
		return fmt.Errorf("nats: stream %s exists with subjects %v, which do not cover subjects=%s; reset it (--reset) or choose another ?stream=",
			d.cfg.Stream, got.Subjects, d.cfg.Subjects)
	}
	d.mu.Lock()
	d.dupeWindow = got.Duplicates
	d.mu.Unlock()
	return nil
}

// resetStream deletes the stream (if present) and creates it again.
func (d *Driver) resetStream(ctx context.Context) error {
	if err := d.js.DeleteStream(ctx, d.cfg.Stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("nats: reset: delete stream %s: %w", d.cfg.Stream, err)
	}
	return d.ensureStream(ctx)
}

// Reset drops the stream and recreates it empty. Appends and subscriptions
// running concurrently may fail.
func (d *Driver) Reset(ctx context.Context) error {
	if d.isClosed() {
		return errClosed
	}
	return d.resetStream(ctx)
}

// subjectCovers reports whether the subject pattern pat matches every
// subject that sub matches (both may hold wildcards).
func subjectCovers(pat, sub string) bool {
	p, s := strings.Split(pat, "."), strings.Split(sub, ".")
	for i, tok := range p {
		if tok == ">" {
			return i < len(s)
		}
		if i >= len(s) {
			return false
		}
		if tok == "*" && s[i] != ">" {
			continue
		}
		if tok != s[i] {
			return false
		}
	}
	return len(p) == len(s)
}
