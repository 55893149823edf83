package main

// The models this process serves. A store of one model is its registry
// at the root of the store, followed by one Live. A store of several
// (each model's registry under models/NAME/, registry.OpenModel) gets one
// registry and one Live per model, opened at start for the models the
// store holds and later on first use (an inference request for a model
// another process created, or an import through the registry API into a
// new name). The registry API shares these registries
// (registryhttp.ModelsOptions.Open), so each model has one poller.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
)

// errUnknownModel: the store holds no model of that name.
var errUnknownModel = errors.New("unknown model")

// servedEntry is one model: its registry and the Live that serves it.
type servedEntry struct {
	name  string        // "" for the store of one model
	ready chan struct{} // closed once opened (or failed)
	err   error
	reg   *registry.Registry
	live  *registry.Live[*servedModel]
}

// fleet holds the served models.
type fleet struct {
	store  storage.Store
	multi  bool
	regOpt func(name string) *registry.Options
	loader func(name string) registry.Loader[*servedModel]
	logger *slog.Logger

	mu     sync.Mutex
	models map[string]*servedEntry
	closed bool
}

// openFleet opens the store's models: the one at the root, or (multi)
// every model under models/.
func openFleet(ctx context.Context, f *fleet) error {
	f.models = map[string]*servedEntry{}
	if !f.multi {
		_, err := f.get(ctx, "", true)
		return err
	}
	names, err := registry.Models(ctx, f.store)
	if err != nil {
		return err
	}
	for _, name := range names {
		// One model that fails to open (or to load its deployed
		// version) does not keep the others from being served; it is
		// tried again on its next request.
		if _, err := f.get(ctx, name, false); err != nil {
			f.logger.Error("open model", "model", name, "err", err)
		}
	}
	return nil
}

// get returns model name's entry, opening it if needed. Unless create is
// set, a model the store does not hold is errUnknownModel.
func (f *fleet) get(ctx context.Context, name string, create bool) (*servedEntry, error) {
	if f.multi {
		if err := registry.ValidateModelName(name); err != nil {
			return nil, fmt.Errorf("%w: %w", errUnknownModel, err)
		}
	} else if name != "" {
		return nil, errUnknownModel
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, registry.ErrClosed
	}
	e, ok := f.models[name]
	f.mu.Unlock()
	if ok {
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
		return e, nil
	}
	if f.multi && !create {
		exists, err := f.exists(ctx, name)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("%w %q", errUnknownModel, name)
		}
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, registry.ErrClosed
	}
	if _, ok := f.models[name]; ok {
		f.mu.Unlock()
		return f.get(ctx, name, create) // opened meanwhile
	}
	e = &servedEntry{name: name, ready: make(chan struct{})}
	f.models[name] = e
	f.mu.Unlock()
	e.err = f.open(context.WithoutCancel(ctx), e)
	close(e.ready)
	if e.err != nil {
		f.mu.Lock()
		delete(f.models, name)
		f.mu.Unlock()
		return nil, e.err
	}
	return e, nil
}

// open opens e's registry and its Live, which loads the deployed
// version (if any) and follows every deploy and rollback.
func (f *fleet) open(ctx context.Context, e *servedEntry) error {
	var err error
	if f.multi {
		e.reg, err = registry.OpenModel(ctx, f.store, e.name, f.regOpt(e.name))
	} else {
		e.reg, err = registry.Open(ctx, f.store, f.regOpt(""))
	}
	if err != nil {
		return err
	}
	e.live, err = registry.NewLive(ctx, e.reg, f.loader(e.name), nil)
	if err != nil {
		e.reg.Close()
		return err
	}
	return nil
}

// exists reports whether the store holds a key under models/{name}/.
func (f *fleet) exists(ctx context.Context, name string) (bool, error) {
	opts := &storage.ListOptions{Prefix: registry.ModelsDir + "/" + name + "/", PageSize: 1}
	for page, err := range storage.Pages(ctx, f.store, opts) {
		if err != nil {
			return false, err
		}
		if len(page.Objects)+len(page.Prefixes) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// registry returns model name's registry for the registry API: it opens
// the model (and its Live) if needed, a new name included. The fleet
// keeps it; the API never closes it.
func (f *fleet) registry(ctx context.Context, name string) (*registry.Registry, error) {
	e, err := f.get(ctx, name, true)
	if err != nil {
		return nil, err
	}
	return e.reg, nil
}

// open returns the entries opened, by name.
func (f *fleet) opened() []*servedEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*servedEntry
	for _, e := range f.models {
		select {
		case <-e.ready:
			if e.err == nil {
				out = append(out, e)
			}
		default:
		}
	}
	slices.SortFunc(out, func(a, b *servedEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// close stops every Live and closes every registry.
func (f *fleet) close() {
	f.mu.Lock()
	f.closed = true
	all := make([]*servedEntry, 0, len(f.models))
	for _, e := range f.models {
		all = append(all, e)
	}
	f.mu.Unlock()
	for _, e := range all {
		<-e.ready
		if e.err == nil {
			e.live.Close()
			e.reg.Close()
		}
	}
}

// Version reports, for GET /readyz, what the fleet serves: "" while a
// model with a deployed version has not loaded it (or, for a store of
// one model, while nothing is loaded), else each model's version.
func (f *fleet) Version() string {
	var serving []string
	for _, e := range f.opened() {
		v := e.live.Version()
		if !f.multi {
			return v
		}
		if v == "" {
			if deployedVersion(e.reg) != "" {
				return "" // not ready: a deployed model is not loaded
			}
			continue
		}
		serving = append(serving, e.name+"="+v)
	}
	return strings.Join(serving, ",")
}

// Err returns the last failed load of any model.
func (f *fleet) Err() error {
	for _, e := range f.opened() {
		if err := e.live.Err(); err != nil {
			if f.multi {
				return fmt.Errorf("model %s: %w", e.name, err)
			}
			return err
		}
	}
	return nil
}

// deployedVersion returns reg's deployed version, or "".
func deployedVersion(reg *registry.Registry) string {
	for _, v := range reg.List(nil) {
		if v.Deployed {
			return v.Version
		}
	}
	return ""
}
