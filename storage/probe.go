package storage

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// probeCleanupTimeout bounds the deletion of the probe object.
const probeCleanupTimeout = 30 * time.Second

// ErrNoConditionalCreate is returned (wrapped) by [CheckConditionalCreate]
// when a store accepts a second create-if-absent of an existing key: a
// server that ignores conditional writes (If-None-Match) and so cannot
// hold a registry shared by several writers.
var ErrNoConditionalCreate = errors.New("storage: the store ignores create-if-absent (PutOptions.IfNotExist)")

// ConditionalCreator is implemented by stores whose
// [PutOptions.IfNotExist] holds by construction, not by a server's
// configuration: a local directory whose conditional creates are link(2)
// calls, which fail with EEXIST and never replace the target
// (storage/diskstore). A probe of such a store cannot fail, so
// [CheckConditionalCreate] skips it. Wrappers such as [Sub] forward the
// answer of the store they wrap.
type ConditionalCreator interface {
	// ConditionalCreates reports whether IfNotExist is guaranteed by
	// the store's implementation.
	ConditionalCreates() bool
}

// CheckConditionalCreate probes whether s honours [PutOptions.IfNotExist].
// It creates a probe object at key followed by a random suffix ("-" and
// 16 hex digits), creates it again with other bytes and IfNotExist, which
// must fail with [ErrExist] and leave the first bytes in place, then
// deletes the probe. It returns nil, an error wrapping
// [ErrNoConditionalCreate] if the second create succeeded or replaced the
// object, or the store's error if the probe could not be made (then
// nothing is known). key must leave room for the suffix within
// [MaxKeyLen] and [MaxElemLen].
//
// Call it once when opening a shared store, not per write: it makes
// four requests (three puts or reads and a delete). A store that
// implements [ConditionalCreator] and reports true is trusted without a
// probe: nothing is written.
func CheckConditionalCreate(ctx context.Context, s Store, key string) error {
	if c, ok := s.(ConditionalCreator); ok && c.ConditionalCreates() {
		return nil
	}
	var b [8]byte
	rand.Read(b[:])
	probe := key + "-" + hex.EncodeToString(b[:])
	if err := ValidKey(probe); err != nil {
		return fmt.Errorf("storage: probe conditional create: %w", err)
	}
	first := []byte("modelvault conditional-create probe, first writer " + probe)
	second := []byte("modelvault conditional-create probe, second writer " + probe)
	if err := WriteAll(ctx, s, probe, first, &PutOptions{IfNotExist: true}); err != nil {
		return fmt.Errorf("storage: probe conditional create: %w", err)
	}
	err := WriteAll(ctx, s, probe, second, &PutOptions{IfNotExist: true})
	var verdict error
	switch {
	case err == nil:
		verdict = fmt.Errorf("%w: a second create of %s succeeded", ErrNoConditionalCreate, probe)
	case !errors.Is(err, ErrExist):
		verdict = fmt.Errorf("storage: probe conditional create: %w", err)
	default:
		got, rerr := ReadAll(ctx, s, probe)
		switch {
		case rerr != nil:
			verdict = fmt.Errorf("storage: probe conditional create: %w", rerr)
		case !bytes.Equal(got, first):
			verdict = fmt.Errorf("%w: a refused create of %s replaced the object", ErrNoConditionalCreate, probe)
		}
	}
	// The probe is removed even if ctx ended meanwhile, within a bound.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeCleanupTimeout)
	defer cancel()
	if derr := s.Delete(dctx, probe); derr != nil && verdict == nil {
		verdict = fmt.Errorf("storage: probe conditional create: %w", derr)
	}
	return verdict
}
