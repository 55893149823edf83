package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
)

// ErrLegacyLayout: the store's log was written when a registry grouped
// versions by model name, and it holds several models that an importer
// named. A registry is now one model's lineage: split the store with
// [Migrate], which moves each model under models/NAME/ (see [OpenModel]).
//
// A log whose versions were grouped only by metadata.model_type (the
// default) opens unchanged: its versions form one lineage, replayed in
// log order, so the last deployment is the deployed version.
var ErrLegacyLayout = modelpkg.NewError("legacy_layout", "registry: the store holds several models in one log")

// metadataModelType returns metadata.model_type from a stored
// metadata.json, or "".
func metadataModelType(md json.RawMessage) string {
	var m struct {
		ModelType string `json:"model_type"`
	}
	if len(md) == 0 || json.Unmarshal(md, &m) != nil {
		return ""
	}
	return m.ModelType
}

// addLegacy records the model name an old log gave the version of e, whose
// record is rec. It refuses (without changing s) a name that makes the
// log hold several models of which one was named by its importer, unless
// the fold is Migrate's.
func (s *state) addLegacy(e *Event, rec *Version) error {
	derived := rec.ModelType
	if derived == "" {
		derived = "default" // what old imports and scans named such versions
	}
	n := legacyName{Name: e.LegacyModel, Chosen: e.LegacyModel != derived}
	if !s.legacyOK {
		names := maps.Clone(s.legacyNames)
		if names == nil {
			names = map[string]int{}
		}
		chosen := s.legacyChosen
		if old, ok := s.Legacy[e.Version]; ok {
			if names[old.Name]--; names[old.Name] == 0 {
				delete(names, old.Name)
			}
			if old.Chosen {
				chosen--
			}
		}
		names[n.Name]++
		if n.Chosen {
			chosen++
		}
		if chosen > 0 && len(names) > 1 {
			return legacyError(names)
		}
	}
	s.dropLegacy(e.Version)
	s.addLegacyName(e.Version, n)
	return nil
}

func (s *state) addLegacyName(version string, n legacyName) {
	if s.legacyNames == nil {
		s.legacyNames = map[string]int{}
	}
	s.Legacy[version] = n
	s.legacyNames[n.Name]++
	if n.Chosen {
		s.legacyChosen++
	}
}

func (s *state) dropLegacy(version string) {
	old, ok := s.Legacy[version]
	if !ok {
		return
	}
	delete(s.Legacy, version)
	if s.legacyNames[old.Name]--; s.legacyNames[old.Name] <= 0 {
		delete(s.legacyNames, old.Name)
	}
	if old.Chosen {
		s.legacyChosen--
	}
}

func legacyError(names map[string]int) error {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(names)) {
		plural := "s"
		if names[n] == 1 {
			plural = ""
		}
		parts = append(parts, fmt.Sprintf("%s (%d version%s)", n, names[n], plural))
	}
	return fmt.Errorf("%w: it was written when a registry grouped versions by model name, and it holds %d models: %s. "+
		"A registry is now one model's lineage: split the store with `modelctl --store URL migrate` (registry.Migrate), "+
		"which copies each model to models/NAME/, then open one with `modelctl --model NAME` (registry.OpenModel)",
		ErrLegacyLayout, len(names), strings.Join(parts, ", "))
}

// MigrateOptions controls [Migrate].
type MigrateOptions struct {
	// Caller is recorded on the events Migrate appends (default actor
	// "migrate").
	Caller
	// Names maps a model name of the old log to the model name it
	// becomes. By default a name becomes itself in lower case, which must
	// then be a valid model name ([ValidateModelName]).
	Names map[string]string
	// Options opens each model's registry (Name is set per model); nil
	// means defaults.
	Options *Options
}

// MigratedModel is one model [Migrate] moved.
type MigratedModel struct {
	// From is the model name in the old log; Name the model name it
	// became, under models/Name/.
	From string `json:"from"`
	Name string `json:"name"`
	// Versions are the versions registered under Name.
	Versions []string `json:"versions"`
	// Deployed is the version deployed under Name ("" when none).
	Deployed string `json:"deployed"`
}

// Migrate splits a store whose log was written when a registry grouped
// versions by model name ([ErrLegacyLayout]) into one registry per model
// under models/NAME/ (see [OpenModel]). For each model it copies every
// version's files, checking each against its recorded SHA-256, registers
// the versions with their original records (import method, time,
// findings, signer) and deploys the version that model had deployed, which
// re-verifies it. The model's earlier deployments are deployed first, in
// order, so that rollbacks walk back through them as before; versions
// that failed validation are skipped (they are no deploy target).
//
// Migrate only adds: the old log and files stay until the caller removes
// them (the model_*/ and _registry/ keys at the top of the store). It can
// be run again after a failure and resumes.
func Migrate(ctx context.Context, store storage.Store, opts *MigrateOptions) ([]MigratedModel, error) {
	var o MigrateOptions
	if opts != nil {
		o = *opts
	}
	if o.Actor == "" {
		o.Actor = "migrate"
	}
	l := eventLog{store: store}
	st := newState()
	st.legacyOK = true
	stacks := map[string][]string{} // old model name -> its rollback stack
	for seq := int64(1); ; seq++ {
		e, hash, err := l.read(ctx, seq)
		if errors.Is(err, storage.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if err := st.apply(e, hash); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		switch e.Type {
		case EventDeployed, EventRolledBack:
			name := e.LegacyModel
			if name == "" {
				name = st.Legacy[e.To].Name
			}
			stacks[name] = nextRollbacks(slices.Clone(stacks[name]), e.Type, e.To)
		case EventDeleted:
			for m, st := range stacks {
				stacks[m] = slices.DeleteFunc(slices.Clone(st), func(v string) bool { return v == e.Version })
			}
		}
	}
	groups := map[string][]*Version{}
	for v, rec := range st.Versions {
		n, ok := st.Legacy[v]
		if !ok {
			return nil, fmt.Errorf("migrate: version %q was registered by a registry of one model: the log is not (only) an old one", v)
		}
		groups[n.Name] = append(groups[n.Name], rec)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("migrate: the log holds no versions of an old layout")
	}
	// Check every name before writing anything.
	names := map[string]string{}
	taken := map[string]string{}
	for _, old := range slices.Sorted(maps.Keys(groups)) {
		name, ok := o.Names[old]
		if !ok {
			name = strings.ToLower(old)
		}
		if err := ValidateModelName(name); err != nil {
			return nil, fmt.Errorf("migrate: model %q: %w (give it a name with MigrateOptions.Names, modelctl migrate --name %s=NEW)", old, err, old)
		}
		if other, dup := taken[name]; dup {
			return nil, fmt.Errorf("migrate: models %q and %q would both become %q", other, old, name)
		}
		names[old], taken[name] = name, old
	}
	var out []MigratedModel
	for _, old := range slices.Sorted(maps.Keys(groups)) {
		m, err := migrateModel(ctx, store, old, names[old], groups[old], stacks[old], &o)
		if err != nil {
			return out, fmt.Errorf("migrate %s: %w", old, err)
		}
		out = append(out, *m)
	}
	return out, nil
}

// migrateModel moves one old model's versions under models/name/.
func migrateModel(ctx context.Context, store storage.Store, old, name string, versions []*Version, stack []string, o *MigrateOptions) (*MigratedModel, error) {
	sub, err := ModelStore(store, name)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(versions, func(a, b *Version) int { return modelpkg.CompareVersions(a.Version, b.Version) })
	for _, v := range versions {
		for file, f := range v.Files {
			if err := copyVerified(ctx, store, sub, v.Dir()+file, f); err != nil {
				return nil, err
			}
		}
	}
	var ropts Options
	if o.Options != nil {
		ropts = *o.Options
	}
	ropts.Name, ropts.SkipOpenScan = name, true
	reg, err := Open(ctx, sub, &ropts)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	m := &MigratedModel{From: old, Name: name}
	for _, v := range versions {
		rec := v.clone()
		rec.Deployed = false
		typ := EventImported
		if !rec.Valid {
			typ = EventInvalid
		}
		_, err := reg.appendEvent(ctx, &o.Caller, func(st *state) (*Event, error) {
			if st.Versions[rec.Version] != nil {
				return nil, errNoop // migrated by an earlier run
			}
			return &Event{Type: typ, Version: rec.Version, Record: rec}, nil
		})
		if err != nil {
			return nil, err
		}
		m.Versions = append(m.Versions, v.Version)
	}
	if len(stack) == 0 {
		return m, nil
	}
	// Deploy the model's deployments again in order, so that rollbacks
	// walk back through them as before; a run that got to the end before
	// is not repeated.
	var targets []string
	for _, v := range stack {
		if rec, err := reg.Get(v); err == nil && rec.Valid {
			targets = append(targets, v) // an invalid version is no deploy target
		}
	}
	if len(targets) == 0 {
		return m, nil
	}
	m.Deployed = targets[len(targets)-1]
	if d, err := reg.Deployed(); err == nil && d.Version == m.Deployed {
		return m, nil
	}
	for _, v := range targets {
		if _, err := reg.Deploy(ctx, v, &o.Caller); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// copyVerified copies key from src to dst unless dst holds it already,
// checking the bytes against f; a copy a previous run left is checked too.
func copyVerified(ctx context.Context, src, dst storage.Store, key string, f File) error {
	mismatch := fmt.Errorf("%w: %s does not match its recorded SHA-256", modelpkg.ErrHashMismatch, key)
	obj, err := src.Get(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	h := sha256.New()
	err = dst.Put(ctx, key, io.TeeReader(obj, h), &storage.PutOptions{IfNotExist: true})
	if errors.Is(err, storage.ErrExist) {
		// A copy an earlier run left, or our own write that a store
		// client retried: either way its bytes decide.
		have, err := hashObject(ctx, dst, key)
		if err != nil {
			return err
		}
		if have != f {
			return mismatch
		}
		return nil
	}
	if err != nil {
		return err // a rerun finds what landed and checks it
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		// The source no longer matches its record: take back the copy
		// (nothing refers to it yet) so a rerun does not accept it.
		_ = dst.Delete(context.WithoutCancel(ctx), key)
		return mismatch
	}
	return nil
}
