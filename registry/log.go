package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// Store layout of registry state.
const (
	registryPrefix   = "_registry/"
	logPrefix        = registryPrefix + "log/"
	checkpointPrefix = registryPrefix + "checkpoints/"
	claimPrefix      = registryPrefix + "claims/"
	seqDigits        = 20
	// maxRollbackStack bounds how many deployments a rollback can return
	// through (the oldest are forgotten first).
	maxRollbackStack = 100
	// maxEventSize bounds one event's encoded size when reading it back.
	maxEventSize = 64 << 20
)

func seqName(seq int64) string {
	s := strconv.FormatInt(seq, 10)
	return strings.Repeat("0", seqDigits-len(s)) + s
}

func logKey(seq int64) string        { return logPrefix + seqName(seq) + ".json" }
func checkpointKey(seq int64) string { return checkpointPrefix + seqName(seq) + checkpointExt }
func claimKey(version string) string { return claimPrefix + version + ".json" }

// Checkpoints are gob-encoded after a magic line: decoding one is about
// three times faster than JSON, which keeps Open with 10,000 versions well
// inside its budget. They are only a cache of the fold; the log, in JSON,
// stays the truth, and an unreadable checkpoint is skipped. v3 is the
// fold of one model's lineage; older checkpoints (v2 kept a deployed
// version per model_type) are skipped, so the log is replayed once.
const (
	checkpointExt   = ".ckpt"
	checkpointMagic = "modelvault-checkpoint-v3\n"
)

// parseSeqKey returns the sequence number in a log or checkpoint key.
func parseSeqKey(prefix, key string) (int64, bool) {
	name, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	ext := ".json"
	if prefix == checkpointPrefix {
		ext = checkpointExt
	}
	name, ok = strings.CutSuffix(name, ext)
	if !ok || len(name) != seqDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// state is the fold of the log up to seq.
type state struct {
	Seq      int64               `json:"seq"`
	Versions map[string]*Version `json:"versions"`
	// Current is the deployed version ("" when none).
	Current string `json:"current"`
	// Rollbacks are the deployments a rollback returns through, oldest
	// first; the last element is the deployed version.
	Rollbacks []string `json:"rollbacks"`
	// Deleted holds versions whose last event is a deletion, so that a
	// repair can remove files a crash left behind.
	Deleted map[string]int64 `json:"deleted"`
	// Head is the SHA-256 (hex) of the event at Seq as stored: the next
	// event's Prev. Empty before the first event, and after a checkpoint
	// written before chaining existed (then the next event is not checked).
	Head string `json:"head,omitempty"`
	// Expired maps a version to the token of its last claim fenced off by
	// a repair: an import holding it cannot commit.
	Expired map[string]string `json:"expired,omitempty"`
	// Legacy maps each version registered by a log written before a
	// registry was one model's lineage to the model name that log gave it.
	Legacy map[string]legacyName `json:"legacy,omitempty"`

	// legacyOK lets a fold hold several named models (for Migrate).
	legacyOK bool
	// legacyNames counts the versions in Legacy by name, legacyChosen
	// those named by their importer; both are derived from Legacy.
	legacyNames  map[string]int
	legacyChosen int
}

// legacyName is the model name an old log gave a version.
type legacyName struct {
	Name string
	// Chosen: the importer named the model (not metadata.model_type).
	Chosen bool
}

func newState() *state {
	return &state{
		Versions: map[string]*Version{},
		Deleted:  map[string]int64{},
		Expired:  map[string]string{},
		Legacy:   map[string]legacyName{},
	}
}

func (s *state) clone() *state {
	c := &state{
		Seq:       s.Seq,
		Head:      s.Head,
		Versions:  make(map[string]*Version, len(s.Versions)),
		Current:   s.Current,
		Rollbacks: slices.Clone(s.Rollbacks),
		Deleted:   make(map[string]int64, len(s.Deleted)),
		Expired:   maps.Clone(s.Expired),
		Legacy:    maps.Clone(s.Legacy),
		legacyOK:  s.legacyOK,

		legacyNames:  maps.Clone(s.legacyNames),
		legacyChosen: s.legacyChosen,
	}
	if c.Expired == nil {
		c.Expired = map[string]string{}
	}
	if c.Legacy == nil {
		c.Legacy = map[string]legacyName{}
	}
	for k, v := range s.Versions {
		c.Versions[k] = v // versions are replaced, never mutated in place
	}
	for k, v := range s.Deleted {
		c.Deleted[k] = v
	}
	return c
}

// apply folds one event, stored with SHA-256 hash, into s. It fails on an
// event that does not fit (a gap in sequence numbers, a broken chain or an
// unknown type); callers never mutate a state that is shared, see clone.
func (s *state) apply(e *Event, hash string) error {
	if e.Seq != s.Seq+1 {
		return fmt.Errorf("%w: event %d follows %d", ErrCorruptLog, e.Seq, s.Seq)
	}
	if e.Prev != "" && s.Head != "" && e.Prev != s.Head {
		return fmt.Errorf("%w: event %d does not follow the stored event %d (the chain is broken: a slot was overwritten)", ErrCorruptLog, e.Seq, s.Seq)
	}
	switch e.Type {
	case EventImported, EventInvalid:
		if e.Record == nil || e.Record.Version != e.Version {
			return fmt.Errorf("%w: event %d: %s without a record", ErrCorruptLog, e.Seq, e.Type)
		}
		rec := e.Record.clone()
		if rec.ModelType == "" {
			rec.ModelType = metadataModelType(rec.Metadata)
		}
		if e.LegacyModel != "" {
			if err := s.addLegacy(e, rec); err != nil {
				return err
			}
		}
		rec.Valid = e.Type == EventImported
		// Revalidating the deployed version: it stays deployed.
		rec.Deployed = s.Current == e.Version
		rec.derive()
		s.Versions[e.Version] = rec
		delete(s.Deleted, e.Version)
		delete(s.Expired, e.Version)
	case EventDeployed, EventRolledBack:
		v := s.Versions[e.To]
		if v == nil {
			return fmt.Errorf("%w: event %d: %s of unknown version %q", ErrCorruptLog, e.Seq, e.Type, e.To)
		}
		s.setDeployed(e.To)
		s.Rollbacks = nextRollbacks(s.Rollbacks, e.Type, e.To)
	case EventDeleted:
		if s.Versions[e.Version] == nil {
			return fmt.Errorf("%w: event %d: deleted unknown version %q", ErrCorruptLog, e.Seq, e.Version)
		}
		delete(s.Versions, e.Version)
		s.dropLegacy(e.Version)
		s.Deleted[e.Version] = e.Seq
		if s.Current == e.Version {
			s.Current = "" // only an old log deletes a deployed version
		}
		s.Rollbacks = slices.DeleteFunc(slices.Clone(s.Rollbacks), func(x string) bool { return x == e.Version })
	case EventClaimExpired:
		s.Expired[e.Version] = e.Claim
	default:
		return fmt.Errorf("%w: event %d has type %q", ErrUnknownEvent, e.Seq, e.Type)
	}
	s.Seq = e.Seq
	s.Head = hash
	return nil
}

// versionKey is the name under which two versions share a directory on a
// case-insensitive store (macOS, Windows: NTFS upcase folding) or alias on
// Windows (trailing dots are dropped). Versions are ASCII
// ([modelpkg.ValidateVersion]), so ASCII folding is the whole of it.
func versionKey(v string) string { return strings.TrimRight(strings.ToLower(v), ".") }

// alias returns a registered version other than version that shares its
// directory on a case-insensitive store, or "".
func (s *state) alias(version string) string {
	key := versionKey(version)
	for other := range s.Versions {
		if other != version && versionKey(other) == key {
			return other
		}
	}
	return ""
}

// nextRollbacks returns the rollback stack after a deploy or rollback
// (typ) to version to: a deploy pushes it, a rollback to a version below
// the top returns to it, and at most maxRollbackStack deployments are
// kept.
func nextRollbacks(stack []string, typ EventType, to string) []string {
	if typ == EventRolledBack {
		if i := lastIndexBelowTop(stack, to); i >= 0 {
			return stack[:i+1]
		}
	}
	stack = append(stack, to)
	if len(stack) > maxRollbackStack {
		stack = slices.Clone(stack[len(stack)-maxRollbackStack:])
	}
	return stack
}

// lastIndexBelowTop returns the last index of v in stack, not counting the
// top (the currently deployed version), or -1.
func lastIndexBelowTop(stack []string, v string) int {
	for i := len(stack) - 2; i >= 0; i-- {
		if stack[i] == v {
			return i
		}
	}
	return -1
}

// setDeployed marks version as the deployed one, and the previously
// deployed one (if any) as not deployed; validity is left as it is.
func (s *state) setDeployed(version string) {
	if old := s.Current; old != "" && old != version {
		if v := s.Versions[old]; v != nil && v.Deployed {
			c := v.clone()
			c.Deployed = false
			c.derive()
			s.Versions[old] = c
		}
	}
	s.Current = version
	if v := s.Versions[version]; v != nil && !v.Deployed {
		c := v.clone()
		c.Deployed = true
		c.derive()
		s.Versions[version] = c
	}
}

// eventLog reads and appends events in a store.
type eventLog struct {
	store storage.Store
}

// read returns the event at seq and the SHA-256 of its stored bytes, or an
// error matching storage.ErrNotExist.
func (l *eventLog) read(ctx context.Context, seq int64) (*Event, string, error) {
	data, err := readLimited(ctx, l.store, logKey(seq), maxEventSize)
	if err != nil {
		return nil, "", err
	}
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrCorruptLog, logKey(seq), err)
	}
	if e.Seq != seq {
		return nil, "", fmt.Errorf("%w: %s holds event %d", ErrCorruptLog, logKey(seq), e.Seq)
	}
	e.NoOp = false
	return &e, hashOf(data), nil
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// newID returns a random identifier for an event or a claim.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// errLostRace: another writer's event holds the slot.
var errLostRace = errors.New("registry: another writer appended first")

// commitAttempts bounds how often a commit retries a write whose outcome
// is unknown (same bytes, same slot: a retry of our own write is
// recognised by its ID).
const commitAttempts = 3

// commit writes e (which carries its ID) at e.Seq if that slot is free,
// and returns the SHA-256 of the stored bytes. Its outcome is decided by
// identity: when the store answers that the slot is taken, the slot is
// read, and our own event there (a retried write whose first response was
// lost) is a success. Another writer's event returns errLostRace. An
// outcome that stays unknown after commitAttempts writes is returned as
// the last error. The caller runs commit on a context detached from its
// own caller's cancellation, so a commit is never abandoned (let alone
// undone) halfway.
func (l *eventLog) commit(ctx context.Context, e *Event) (string, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	var last error
	for attempt := 0; attempt < commitAttempts; attempt++ {
		err := l.store.Put(ctx, logKey(e.Seq), bytes.NewReader(data), &storage.PutOptions{
			IfNotExist:  true,
			ContentType: "application/json",
		})
		if err == nil {
			return hashOf(data), nil
		}
		last = err
		if !errors.Is(err, storage.ErrExist) && ctx.Err() != nil {
			break
		}
		// Taken, or unknown: whichever it is, the slot says.
		got, hash, rerr := l.read(ctx, e.Seq)
		switch {
		case rerr == nil && got.ID == e.ID:
			return hash, nil
		case rerr == nil:
			return "", errLostRace
		case errors.Is(rerr, storage.ErrNotExist):
			continue // not written: write again
		default:
			last = errors.Join(err, rerr)
			if ctx.Err() != nil {
				return "", last
			}
		}
	}
	return "", last
}

// latestCheckpoint returns the newest readable checkpoint, or a fresh
// state when there is none.
func (l *eventLog) latestCheckpoint(ctx context.Context) (*state, error) {
	var seqs []int64
	for obj, err := range storage.All(ctx, l.store, &storage.ListOptions{Prefix: checkpointPrefix}) {
		if err != nil {
			return nil, err
		}
		if n, ok := parseSeqKey(checkpointPrefix, obj.Key); ok {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	for i := len(seqs) - 1; i >= 0; i-- {
		data, err := readLimited(ctx, l.store, checkpointKey(seqs[i]), 1<<30)
		if errors.Is(err, storage.ErrNotExist) {
			continue // pruned by another replica meanwhile
		}
		if err != nil {
			return nil, err
		}
		st, err := decodeCheckpoint(data)
		if err != nil || st.Seq != seqs[i] {
			// A torn or foreign checkpoint is not fatal: the log is the
			// truth, so fall back to an older checkpoint.
			continue
		}
		return st, nil
	}
	return newState(), nil
}

// writeCheckpoint stores st and removes checkpoints older than the
// previous one (keeping two, so a reader that listed just before never
// finds none).
func (l *eventLog) writeCheckpoint(ctx context.Context, st *state) error {
	data, err := encodeCheckpoint(st)
	if err != nil {
		return err
	}
	err = l.store.Put(ctx, checkpointKey(st.Seq), bytes.NewReader(data), &storage.PutOptions{IfNotExist: true, ContentType: "application/json"})
	if err != nil && !errors.Is(err, storage.ErrExist) {
		return err
	}
	var old []int64
	for obj, err := range storage.All(ctx, l.store, &storage.ListOptions{Prefix: checkpointPrefix}) {
		if err != nil {
			return err
		}
		if n, ok := parseSeqKey(checkpointPrefix, obj.Key); ok && n < st.Seq {
			old = append(old, n)
		}
	}
	slices.Sort(old)
	for i := 0; i < len(old)-1; i++ {
		if err := l.store.Delete(ctx, checkpointKey(old[i])); err != nil {
			return err
		}
	}
	return nil
}

func encodeCheckpoint(st *state) ([]byte, error) {
	// Findings carry their error values only in memory (as after a JSON
	// round trip, Err is nil once decoded); gob must not see them.
	c := *st
	c.Versions = make(map[string]*Version, len(st.Versions))
	for k, v := range st.Versions {
		if len(v.Findings) > 0 {
			cv := *v
			cv.Findings = make([]validate.Finding, len(v.Findings))
			for i, f := range v.Findings {
				f.Err = nil
				cv.Findings[i] = f
			}
			v = &cv
		}
		c.Versions[k] = v
	}
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	if err := gob.NewEncoder(&buf).Encode(&c); err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeCheckpoint(data []byte) (*state, error) {
	rest, ok := bytes.CutPrefix(data, []byte(checkpointMagic))
	if !ok {
		return nil, fmt.Errorf("%w: not a checkpoint", ErrCorruptLog)
	}
	st := newState()
	if err := gob.NewDecoder(bytes.NewReader(rest)).Decode(st); err != nil {
		return nil, fmt.Errorf("%w: checkpoint: %v", ErrCorruptLog, err)
	}
	// gob leaves maps that were empty nil.
	if st.Versions == nil {
		st.Versions = map[string]*Version{}
	}
	legacy := st.Legacy
	st.Legacy = map[string]legacyName{}
	for v, n := range legacy {
		st.addLegacyName(v, n)
	}
	if st.Deleted == nil {
		st.Deleted = map[string]int64{}
	}
	if st.Expired == nil {
		st.Expired = map[string]string{}
	}
	return st, nil
}

// readLimited reads a whole object, refusing objects larger than limit.
func readLimited(ctx context.Context, s storage.Store, key string, limit int64) ([]byte, error) {
	r, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if r.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes (limit %d)", ErrCorruptLog, key, r.Size(), limit)
	}
	// The store's size is the object's length (capped by limit above),
	// so it sizes the buffer; an object that grows meanwhile is caught.
	data := make([]byte, r.Size())
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("read %s: object changed while being read", key)
	}
	return data, nil
}
