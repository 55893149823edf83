package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/aferostore"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
	"github.com/modelvault/modelvault/validate"
)

// The linearizability check of issue #11: clients, each with its own
// Registry on one shared store, run random imports, deploys, rollbacks,
// deletes, prunes, validates and scans while a nemesis injects faults
// (nemesis_test.go). Every history is checked with porcupine against the
// sequential model in linmodel_test.go, then against invariants: every
// valid registered version's files are present and match their digests,
// every success has its event in the log, and every client's Live serves
// the deployed version once the faults stop.

// linVersions are imported from ZIPs; linPlaced are only placed in the
// store by hand and registered by scans.
var (
	linVersions = []string{"1.0", "2.0", "3.0", "4.0", "5.0"}
	linPlaced   = []string{"6.0", "7.0"}
)

// linConfig sizes one run of the check.
type linConfig struct {
	histories int
	clients   int
	ops       int // per client
	rate      int // store faults in percent of calls
	// clockJumps enables the claim-lease-expiry nemesis: the registries'
	// clock jumps past the claim lease, so imports in progress look
	// abandoned and are fenced (the claim_expired event).
	clockJumps bool
}

func linDefault() linConfig {
	c := linConfig{histories: 4, clients: 4, ops: 12, rate: 4, clockJumps: true}
	if os.Getenv("MODELVAULT_LONG") != "" {
		c.histories, c.ops = 40, 30
	}
	return c
}

// linFigures accumulates what a run checked, for RELIABILITY.md.
type linFigures struct {
	histories, ops, unknown, resolved int
	// invariants counts histories after which the store invariants
	// were checked.
	invariants int
	faults     faultCounts
}

func TestLinearizableMemMapFs(t *testing.T) {
	runLincheck(t, linDefault(), func(t *testing.T) storage.Store { return aferostore.New(afero.NewMemMapFs(), nil) })
}

func TestLinearizableDisk(t *testing.T) {
	runLincheck(t, linDefault(), func(t *testing.T) storage.Store {
		s, err := diskstore.Open(t.TempDir(), nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func linServer(t *testing.T, srv *testservers.Server) {
	srv.Setenv(t)
	c := linDefault()
	c.histories = 3
	if os.Getenv("MODELVAULT_LONG") != "" {
		c.histories = 10
	}
	runLincheck(t, c, func(t *testing.T) storage.Store {
		s, err := blobstore.Open(context.Background(), srv.NewBucket(t), nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestLinearizableS3(t *testing.T) { linServer(t, testservers.StartVersityGW(t)) }

func TestLinearizableGCS(t *testing.T) { linServer(t, testservers.StartFakeGCS(t)) }

func TestLinearizableAzure(t *testing.T) { linServer(t, testservers.StartAzurite(t)) }

func runLincheck(t *testing.T, c linConfig, newStore func(t *testing.T) storage.Store) {
	seed := crashSeed(t)
	t.Logf("seed %d (rerun with MODELVAULT_CRASH_SEED=%d)", seed, seed)
	fig := &linFigures{}
	start := time.Now()
	zips := map[string][]byte{}
	for _, v := range linVersions {
		zips[v] = zipOf(t, pkgFiles(v, ""))
	}
	for h := 0; h < c.histories; h++ {
		hc := c
		ok := t.Run(fmt.Sprintf("history%d", h), func(t *testing.T) {
			runHistory(t, hc, newStore(t), seed+uint64(h)*1000, zips, fig)
		})
		if !ok {
			break
		}
	}
	t.Logf("figures: %d histories (store invariants checked after %d), %d operations (%d with an unknown outcome, %d of them found in the log), faults: %s, in %v",
		fig.histories, fig.invariants, fig.ops, fig.unknown, fig.resolved, fig.faults.String(), time.Since(start).Round(time.Millisecond))
}

// recorder collects what the clients did.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	raw   []*rawOp
	ops   []porcupine.Operation // built by resolve
	// unknown counts operations whose outcome was unknown to their
	// caller; resolved counts those the log showed to have happened.
	unknown, resolved int
}

// rawOp is one call as a client made it. Its actor is unique, so the
// events it appended can be found in the log whatever it returned.
type rawOp struct {
	client    int
	actor     string
	kind      string // import, deploy, rollback, delete, validate, prune, scan
	version   string
	call, ret int64
	err       error
	event     *registry.Event // returned by deploy, rollback, delete
	noop      bool
	verdict   *bool
	// out, when set, is the output already classified (by a child
	// process, which reports it instead of the error value).
	out *linOutput
}

// output is the model's output for the operation's error.
func (op *rawOp) output() linOutput {
	if op.out != nil {
		return *op.out
	}
	return classify(op.err)
}

// setEvent records what a mutating call returned: the event it
// appended, or a no-op (a nil event, or one with NoOp set).
func (op *rawOp) setEvent(e *registry.Event) {
	if e == nil || e.NoOp {
		op.noop = true
		return
	}
	op.event = e
}

// infinity is the return time of an operation whose outcome its caller
// could not know: it may have taken effect at any point after its call.
const infinity = int64(1) << 62

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

func (r *recorder) add(op *rawOp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.raw = append(r.raw, op)
}

func (r *recorder) observe(client int, observed string, call, ret int64) {
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: linInput{Op: "observe"},
		Output: linOutput{Observed: observed}, Call: call, Return: ret})
}

// resolve turns the calls into porcupine operations, using the log
// (events carry their operation's actor) to learn what each call did:
// an operation whose caller got an unknown outcome happened exactly when
// its events are in the log, and then it may have happened at any time
// after its call. It reports every success without its event, every
// definite failure with an event, and every event no operation made.
func (r *recorder) resolve(t *testing.T, hist []*registry.Event) {
	t.Helper()
	byActor := map[string][]*registry.Event{}
	for _, e := range hist {
		if e.Type == registry.EventClaimExpired {
			continue // a repair's fence of an abandoned claim: no change to the model's state
		}
		byActor[e.Actor] = append(byActor[e.Actor], e)
	}
	for _, op := range r.raw {
		evs := byActor[op.actor]
		delete(byActor, op.actor)
		out := op.output()
		if op.event != nil {
			out = linOutput{} // a delete whose file removal failed after its commit
		}
		if out.Unknown {
			r.unknown++
		}
		ret := op.ret
		if len(evs) > 0 {
			switch {
			case op.err != nil && !out.Unknown && op.event == nil && op.kind != "prune":
				// (A prune is a series of deletes: one that fails after
				// others landed keeps them.)
				t.Errorf("%s %s %s failed with a definite error but appended %s: %v", op.actor, op.kind, op.version, describeEvents(evs), op.err)
			case out.Unknown:
				r.resolved++
				ret = infinity
			}
			for _, e := range evs {
				in, o, ok := fromEvent(op.kind, e)
				if !ok {
					t.Errorf("%s %s appended an event the model does not know: %s", op.actor, op.kind, describeEvents([]*registry.Event{e}))
					continue
				}
				r.ops = append(r.ops, porcupine.Operation{ClientId: op.client, Input: in, Output: o, Call: op.call, Return: ret})
			}
			continue
		}
		in := linInput{Op: op.kind, Version: op.version}
		switch {
		case out.Unknown:
			continue // not in the log: it had no effect
		case op.err == nil && op.noop:
			out.Noop = true // the model says whether a no-op was right
		case op.err == nil && (op.kind == "deploy" || op.kind == "rollback" || op.kind == "delete"):
			t.Errorf("%s %s %s succeeded without an event in the log", op.actor, op.kind, op.version)
			continue
		case op.kind == "prune" || op.kind == "scan" || op.kind == "repair":
			continue // only their events count
		case op.err == nil && op.kind == "validate":
			out.Verdict, out.VerdictKnown = *op.verdict, true
		}
		r.ops = append(r.ops, porcupine.Operation{ClientId: op.client, Input: in, Output: out, Call: op.call, Return: ret})
	}
	for actor, evs := range byActor {
		t.Errorf("the log holds %s by %q, which no operation made", describeEvents(evs), actor)
	}
}

// fromEvent is the model's view of one event that an operation of kind
// appended.
func fromEvent(kind string, e *registry.Event) (linInput, linOutput, bool) {
	switch e.Type {
	case registry.EventImported:
		switch kind {
		case "validate":
			return linInput{Op: "validate", Version: e.Version}, linOutput{Verdict: true, VerdictKnown: true}, true
		case "scan":
			return linInput{Op: "scan-registered", Version: e.Version}, linOutput{}, true
		}
		return linInput{Op: "import", Version: e.Version}, linOutput{}, true
	case registry.EventInvalid:
		if kind == "scan" {
			return linInput{Op: "scan-invalid", Version: e.Version}, linOutput{}, true
		}
		return linInput{Op: "validate", Version: e.Version}, linOutput{Verdict: false, VerdictKnown: true}, true
	case registry.EventDeployed:
		return linInput{Op: "deploy", Version: e.To}, linOutput{From: e.From, To: e.To}, true
	case registry.EventRolledBack:
		return linInput{Op: "rollback"}, linOutput{From: e.From, To: e.To}, true
	case registry.EventDeleted:
		return linInput{Op: "delete", Version: e.Version}, linOutput{}, true
	}
	return linInput{}, linOutput{}, false
}

func describeEvents(evs []*registry.Event) string {
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("event %d %s %s %s→%s", e.Seq, e.Type, e.Version, e.From, e.To))
	}
	return strings.Join(parts, ", ")
}

// classify turns an operation's error into the model's output. A fault
// of the store or the context leaves the outcome unknown.
func classify(err error) linOutput {
	if err == nil {
		return linOutput{}
	}
	out := linOutput{Detail: err.Error()}
	if len(out.Detail) > 160 {
		out.Detail = out.Detail[:160] + "…"
	}
	if errors.Is(err, errNemesis) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		out.Unknown = true
		return out
	}
	for _, k := range []struct {
		err  error
		name string
	}{
		{registry.ErrNotFound, "not_found"}, {registry.ErrInUse, "in_use"}, {registry.ErrInvalid, "invalid"},
		{registry.ErrNoPrevious, "no_previous"}, {registry.ErrVersionExists, "exists"}, {registry.ErrConflict, "conflict"},
		{modelpkg.ErrHashMismatch, "hash"}, {modelpkg.ErrMissingFile, "hash"},
	} {
		if errors.Is(err, k.err) {
			out.Err = k.name
			return out
		}
	}
	var verr *validate.Error
	if errors.As(err, &verr) {
		out.Err = "rejected"
		return out
	}
	out.Unknown = true
	return out
}

// linClient is one client: a Registry of its own, and a Live following it.
type linClient struct {
	id    int
	reg   *registry.Registry
	live  *registry.Live[*testModel]
	rng   *rand.Rand
	store *nemesisStore
	rec   *recorder
	clock *jumpClock
	zips  map[string][]byte
	fig   *linFigures
	n     int // operations begun
	// tamper is shared by the clients: tampered files and their content.
	tamper *tamperSet
	// clockJumps: see linConfig.
	clockJumps bool
	// hook, when set, is told of every operation as it begins (right
	// before the registry call) and as it ends: a client in a child
	// process reports its operations to the parent through it.
	hook linHook
}

// linHook observes a client's operations (see linClient.hook).
type linHook interface {
	begin(op *rawOp)
	end(op *rawOp)
}

// tamperSet remembers files the nemesis changed, to restore them.
type tamperSet struct {
	mu    sync.Mutex
	files map[string][]byte
}

func linOptions(clock *jumpClock) *registry.Options {
	return &registry.Options{Now: clock.Now, ClaimLease: time.Minute, PollInterval: 20 * time.Millisecond, SkipOpenScan: true}
}

func runHistory(t *testing.T, c linConfig, base storage.Store, seed uint64, zips map[string][]byte, fig *linFigures) {
	ctx := context.Background()
	clock := &jumpClock{}
	rec := &recorder{start: time.Now()}
	tamper := &tamperSet{files: map[string][]byte{}}

	// Seed: two versions, one deployed, recorded as client 0's history.
	seedReg := openReg(t, base, linOptions(clock))
	seedClient := &linClient{id: 0, reg: seedReg, rec: rec, zips: zips, rng: rand.New(rand.NewPCG(seed, 1)), clock: clock, fig: fig, tamper: tamper}
	seedClient.doImport(ctx, "1.0")
	seedClient.doImport(ctx, "2.0")
	seedClient.doDeploy(ctx, "1.0")

	stores := make([]*nemesisStore, c.clients)
	clients := make([]*linClient, c.clients)
	for i := range clients {
		stores[i] = newNemesisStore(base, seed+uint64(i)+1, c.rate, &fig.faults)
		reg := openReg(t, stores[i], linOptions(clock))
		live, err := registry.NewLive(ctx, reg, testLoader(nil, nil, nil), linLiveOptions())
		require.NoError(t, err)
		t.Cleanup(func() { live.Close() })
		clients[i] = &linClient{id: i + 1, reg: reg, live: live, store: stores[i], rec: rec, clock: clock, zips: zips,
			rng: rand.New(rand.NewPCG(seed+uint64(i)+1, 2)), fig: fig, tamper: tamper, clockJumps: c.clockJumps}
	}
	for _, s := range stores {
		s.enabled.Store(true)
	}
	var wg sync.WaitGroup
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range c.ops {
				cl.randomOp(ctx)
			}
		}()
	}
	wg.Wait()
	for _, s := range stores {
		s.enabled.Store(false)
	}
	// Quiesce: restore tampered files, then observe every client's view.
	restored := tamper.restore(t, base)
	fresh := openReg(t, base, linOptions(clock))
	observers := append([]*registry.Registry{fresh}, func() []*registry.Registry {
		var rs []*registry.Registry
		for _, cl := range clients {
			rs = append(rs, cl.reg)
		}
		return rs
	}()...)
	for i, r := range observers {
		call := rec.now()
		require.NoError(t, r.Sync(ctx))
		rec.observe(c.clients+1+i, observe(r), call, rec.now())
	}
	hist, err := fresh.History(ctx, nil)
	require.NoError(t, err)
	rec.resolve(t, hist)
	checkReturnedEvents(t, hist, rec)
	checkHistory(t, rec)
	checkFiles(t, base, fresh)
	checkLives(t, fresh, clients)
	linInvariants(t, base, fresh, restored)
	fig.invariants++

	fig.histories++
	fig.ops += len(rec.raw)
	fig.unknown += rec.unknown
	fig.resolved += rec.resolved
}

// linInvariants checks the store's invariants after a history (see
// checkInvariants: a repair with every lease expired, then no claim, no
// key outside a registered version, every file matching). Packages
// placed by hand that no scan registered may be partial (a placement cut
// short, or a scan that found it incomplete): the operator finishes the
// copies first. Versions whose
// tampered files were restored may have been judged invalid meanwhile;
// the final scan may register them again.
func linInvariants(t *testing.T, base storage.Store, r *registry.Registry, restored []string) *invariantReport {
	t.Helper()
	ctx := context.Background()
	for _, v := range linPlaced {
		// Unregistered, or registered as invalid by a scan that ran
		// while the copy was under way (or cut short by a kill).
		if got, err := r.Get(v); errors.Is(err, registry.ErrNotFound) || (err == nil && !got.Valid) {
			(&linClient{store: &nemesisStore{inner: base}}).doPlace(ctx, v)
		}
	}
	rep, err := checkInvariants(ctx, base, append(slices.Clone(linPlaced), restored...)...)
	require.NoError(t, err, "invariants")
	return rep
}

// observe projects a registry's view on the model's state.
func observe(r *registry.Registry) string {
	s := mstate{valid: map[string]bool{}}
	for _, v := range r.List(nil) {
		s.valid[v.Version] = v.Valid
		if v.Deployed {
			s.deployed = v.Version
		}
	}
	return s.project()
}

// opContext returns the context of one operation: sometimes the client
// cancels it midway, as a disconnecting HTTP client does.
func (c *linClient) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	if c.store != nil && c.rng.IntN(100) < 4 {
		c.fig.faults.add(faultClientCancel)
		t := time.AfterFunc(time.Duration(c.rng.IntN(3000))*time.Microsecond, cancel)
		return ctx, func() { t.Stop(); cancel() }
	}
	return ctx, cancel
}

func (c *linClient) randomOp(ctx context.Context) {
	all := append(slices.Clone(linVersions), linPlaced...)
	v := all[c.rng.IntN(len(all))]
	switch n := c.rng.IntN(100); {
	case n < 22:
		c.doImport(ctx, linVersions[c.rng.IntN(len(linVersions))])
	case n < 42:
		c.doDeploy(ctx, v)
	case n < 54:
		c.doRollback(ctx)
	case n < 64:
		c.doDelete(ctx, v)
	case n < 70:
		c.doValidate(ctx, v)
	case n < 74:
		c.doPrune(ctx)
	case n < 82:
		c.doScan(ctx)
	case n < 88:
		c.doTamper(ctx, v)
	case n < 92:
		c.doRepair(ctx)
	case n < 95 && c.clockJumps:
		c.fig.faults.add(faultClockJump)
		c.clock.jump(2 * time.Minute)
	default:
		c.doPlace(ctx, linPlaced[c.rng.IntN(len(linPlaced))])
	}
}

// begin starts recording one operation.
func (c *linClient) begin(kind, version string) *rawOp {
	c.n++
	op := &rawOp{client: c.id, actor: fmt.Sprintf("c%d#%d", c.id, c.n), kind: kind, version: version, call: c.rec.now()}
	if c.hook != nil {
		c.hook.begin(op)
	}
	return op
}

func (c *linClient) end(op *rawOp, err error) {
	op.ret = c.rec.now()
	op.err = err
	if c.hook != nil {
		c.hook.end(op)
		return
	}
	c.rec.add(op)
}

func (c *linClient) caller(op *rawOp) registry.Caller {
	return registry.Caller{Actor: op.actor, Reason: "lincheck"}
}

func (c *linClient) doImport(ctx context.Context, v string) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("import", v)
	_, err := c.reg.Import(ctx, modelpkg.FileName(v), bytes.NewReader(c.zips[v]), &registry.ImportOptions{Caller: c.caller(op)})
	c.end(op, err)
}

func (c *linClient) doDeploy(ctx context.Context, v string) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("deploy", v)
	caller := c.caller(op)
	e, err := c.reg.Deploy(ctx, v, &caller)
	op.setEvent(e)
	c.end(op, err)
}

func (c *linClient) doRollback(ctx context.Context) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("rollback", "")
	e, err := c.reg.Rollback(ctx, &registry.RollbackOptions{Caller: c.caller(op)})
	op.setEvent(e)
	c.end(op, err)
}

func (c *linClient) doDelete(ctx context.Context, v string) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("delete", v)
	caller := c.caller(op)
	e, err := c.reg.Delete(ctx, v, &caller)
	op.setEvent(e)
	c.end(op, err)
}

func (c *linClient) doValidate(ctx context.Context, v string) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("validate", v)
	caller := c.caller(op)
	rep, err := c.reg.Validate(ctx, v, &caller)
	if rep != nil {
		valid := rep.Valid()
		op.verdict = &valid
	}
	if err == nil && rep == nil {
		err = errors.New("validate returned neither a report nor an error")
	}
	c.end(op, err)
}

func (c *linClient) doPrune(ctx context.Context) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("prune", "")
	_, err := c.reg.Prune(ctx, &registry.PruneOptions{Caller: c.caller(op), Keep: 1 + c.rng.IntN(2)})
	c.end(op, err)
}

func (c *linClient) doScan(ctx context.Context) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("scan", "")
	caller := c.caller(op)
	_, err := c.reg.Scan(ctx, &caller)
	c.end(op, err)
}

// doRepair runs a repair. Its only events are claim_expired fences,
// which are not operations of the model: it is recorded so that a child
// process can be killed in the middle of one.
func (c *linClient) doRepair(ctx context.Context) {
	ctx, cancel := c.opContext(ctx)
	defer cancel()
	op := c.begin("repair", "")
	_, err := c.reg.Repair(ctx)
	c.end(op, err)
}

// doPlace copies a package's files into the store by hand, as an
// operator does, for a scan to find.
func (c *linClient) doPlace(ctx context.Context, v string) {
	files := pkgFiles(v, "")
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	}) {
		if err := storage.WriteAll(ctx, c.store.inner, modelpkg.DirName(v)+"/"+name, files[name].Data, nil); err != nil {
			return
		}
	}
}

// doTamper changes a stored file of v (or restores every changed file).
func (c *linClient) doTamper(ctx context.Context, v string) {
	if c.tamper == nil || c.rng.IntN(2) == 0 {
		return
	}
	key := modelpkg.DirName(v) + "/README.md"
	c.tamper.mu.Lock()
	defer c.tamper.mu.Unlock()
	if _, ok := c.tamper.files[key]; ok {
		return
	}
	if ok, err := storage.Exists(ctx, c.store.inner, key); err != nil || !ok {
		return
	}
	c.fig.faults.add(faultTamper)
	c.tamper.files[key] = pkgFiles(v, "")["README.md"].Data
	_ = storage.WriteAll(ctx, c.store.inner, key, []byte("tampered\n"), nil)
}

// restore puts back every tampered file whose version still has files,
// and returns the versions whose files it restored.
//
// The nemesis changes files; it must never add one. But its check that
// the file exists and its write are two calls, and a deletion of the
// version (or the cleanup of a failed import) can fall in between: the
// write then recreates a file of a version that no longer has any, which
// a scan would rightly find to be an incomplete package placed by hand.
// Such a file, alone in its directory, is removed instead of restored.
func (ts *tamperSet) restore(t *testing.T, s storage.Store) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ctx := context.Background()
	var versions []string
	for key, data := range ts.files {
		// A file whose version was deleted since stays deleted: putting
		// it back would leave a file of no version.
		ok, err := storage.Exists(ctx, s, key)
		require.NoError(t, err)
		if !ok {
			continue
		}
		dir, _, _ := strings.Cut(key, "/")
		files := 0
		for _, err := range storage.All(ctx, s, &storage.ListOptions{Prefix: dir + "/"}) {
			require.NoError(t, err)
			files++
		}
		if files == 1 {
			require.NoError(t, s.Delete(ctx, key))
			continue
		}
		require.NoError(t, storage.WriteAll(ctx, s, key, data, nil))
		if v, err := modelpkg.ParseDirName(dir); err == nil {
			versions = append(versions, v)
		}
	}
	ts.files = map[string][]byte{}
	return versions
}

// checkHistory checks the history with porcupine; a failure is written as
// porcupine's visualization and as a readable interleaving.
func checkHistory(t *testing.T, rec *recorder) {
	t.Helper()
	model := registryModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, rec.ops, 2*time.Minute)
	if res == porcupine.Ok {
		return
	}
	dir := os.Getenv("MODELVAULT_LINCHECK_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".html")
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		t.Logf("visualization: %v", err)
	}
	t.Errorf("history is not linearizable (%s); visualization: %s (set MODELVAULT_LINCHECK_OUT to keep it)\n%s",
		res, path, readableHistory(model, rec.ops, info))
}

// readableHistory prints the operations in call order and the longest
// prefix porcupine could linearize, with the state after each step.
func readableHistory(model porcupine.Model, ops []porcupine.Operation, info porcupine.LinearizationInfo) string {
	var b strings.Builder
	sorted := slices.Clone(ops)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Call < sorted[j].Call })
	b.WriteString("history (call order; times in µs since the start):\n")
	for _, op := range sorted {
		ret := "∞"
		if op.Return != infinity {
			ret = fmt.Sprint(op.Return / 1000)
		}
		fmt.Fprintf(&b, "  client %3d  [%8d, %8s]  %s\n", op.ClientId, op.Call/1000, ret, model.DescribeOperation(op.Input, op.Output))
	}
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	fmt.Fprintf(&b, "longest linearizable prefix (%d of %d operations):\n", len(longest), len(ops))
	states := []any{model.Init()}
	for _, op := range longest {
		var next []any
		for _, s := range states {
			if ok, n := model.Step(s, op.Input, op.Output); ok {
				next = append(next, n)
			}
		}
		if len(next) > 0 {
			states = next[:1]
		}
		fmt.Fprintf(&b, "  client %3d  %s\n      state: %s\n", op.ClientId, model.DescribeOperation(op.Input, op.Output), model.DescribeState(states[0]))
	}
	return b.String()
}

// checkReturnedEvents checks that every event an operation returned is
// the one at its place in the log, and that no two operations returned
// the same event.
func checkReturnedEvents(t *testing.T, hist []*registry.Event, rec *recorder) {
	t.Helper()
	bySeq := map[int64]string{}
	for _, op := range rec.raw {
		e := op.event
		if e == nil {
			continue
		}
		if prev, dup := bySeq[e.Seq]; dup {
			t.Errorf("event %d was returned to two operations (%s and %s)", e.Seq, prev, op.actor)
		}
		bySeq[e.Seq] = op.actor
		if e.Seq < 1 || e.Seq > int64(len(hist)) {
			t.Errorf("%s returned event %d, which is not in the log (%d events)", op.actor, e.Seq, len(hist))
			continue
		}
		got := hist[e.Seq-1]
		if got.Actor != op.actor || got.Type != e.Type || got.Version != e.Version || got.From != e.From || got.To != e.To {
			t.Errorf("%s returned event %d %s %s %s→%s; the log holds %s %s %s→%s by %s", op.actor, e.Seq, e.Type, e.Version, e.From, e.To,
				got.Type, got.Version, got.From, got.To, got.Actor)
		}
	}
}

// checkFiles checks that every valid registered version has its files,
// matching their recorded digests.
func checkFiles(t *testing.T, store storage.Store, r *registry.Registry) {
	t.Helper()
	for _, v := range r.List(nil) {
		if !v.Valid {
			continue
		}
		if len(v.Files) == 0 {
			t.Errorf("version %s is %s with no files", v.Version, v.Status)
		}
		for name, want := range v.Files {
			got, err := hashStored(store, v.Dir()+name)
			if err != nil {
				t.Errorf("version %s is %s but %s: %v", v.Version, v.Status, name, err)
				continue
			}
			if got != want {
				t.Errorf("version %s is %s but %s holds %+v, recorded %+v", v.Version, v.Status, name, got, want)
			}
		}
	}
}

func hashStored(store storage.Store, key string) (registry.File, error) {
	data, err := storage.ReadAll(context.Background(), store, key)
	if errors.Is(err, fs.ErrNotExist) {
		return registry.File{}, fmt.Errorf("missing")
	}
	if err != nil {
		return registry.File{}, err
	}
	return registry.File{Size: int64(len(data)), SHA256: sha256Hex(data)}, nil
}

// linLiveOptions are the clients' Live options: retries of failed loads
// (a tampered file) stay short, so that a Live serves the deployed
// version soon after the faults stop, whatever the history did to its
// backoff.
func linLiveOptions() *registry.LiveOptions[*testModel] {
	return &registry.LiveOptions[*testModel]{RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}
}

// checkLives checks that every client's Live serves the deployed version
// once the faults have stopped.
func checkLives(t *testing.T, r *registry.Registry, clients []*linClient) {
	t.Helper()
	want := ""
	for _, v := range r.List(nil) {
		if v.Status == registry.StatusDeployed {
			want = v.Version
		}
	}
	if want == "" {
		return
	}
	// The minute only bounds a failure: a Live is woken by the events it
	// follows and by its retries.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range clients {
		require.NoError(t, c.live.WaitFor(ctx, want), "client %d's Live serves %q (last error %v)", c.id, c.live.Version(), c.live.Err())
	}
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
