//go:build unix

package registry_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/testservers"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/diskstore"
)

// The linearizability check with clients in separate processes (issue
// #11, "How it is proven"): child processes (the test binary re-executed,
// see child_test.go) each open their own Registry and Live on one store
// (a diskstore directory, or a bucket on versitygw) and run random
// operations; one client runs in the parent's process with the store
// nemesis of nemesis_test.go. Every child reports each operation to the
// parent as JSON lines on its stdout: the call (the parent records the
// call time, then answers on the child's stdin, so the call time comes
// before the registry call) and the return with its classified outcome.
// A kill nemesis SIGKILLs children in the middle of operations: at a
// random moment, or deterministically right after a commit point (the
// child kills itself right after its store reported success for a claim's
// conditional create, the log event's conditional create, a package
// file's write, or a package file's delete). An operation whose process
// died has an unknown outcome: it happened exactly when its events are in
// the log, and then at any time after its call (porcupine's pending
// call). Killed clients are replaced by new processes (new client ids)
// until the operation budget is used. The history is checked with
// porcupine against the sequential model (linmodel_test.go), then: every
// valid version's files are present and match, every surviving child's
// Live serves the deployed version, and the store's invariants hold after
// a repair (so claims and files of killed importers are repaired).

const (
	procRateEnv = "MODELVAULT_LINPROC_RATE" // the children's store fault rate
	// procLease is the claim lease of every client: short, so that
	// repairs during the run take over the claims of killed importers,
	// yet four heartbeats long, so that most live imports stalled by the
	// machine's load are not fenced (a fenced import fails, and cleans up
	// after itself: TestFencedImportLeavesNoOrphans).
	procLease = 2 * time.Second
)

// Kill points: where the kill nemesis kills a child.
const (
	killRandom  = "random-time"        // the parent's SIGKILL at a random moment of an operation
	killClaim   = "after-claim-create" // the child, right after its import claim was created
	killFile    = "after-file-write"   // after the n-th package file of an import was written
	killCommit  = "after-log-commit"   // after the log event's conditional create succeeded
	killCleanup = "after-file-delete"  // after a package file was deleted (delete, prune, repair)
)

// errKilled is the outcome of an operation whose process was killed.
var errKilled = fmt.Errorf("%w: the client process was killed", errNemesis)

// procConfig sizes one run.
type procConfig struct {
	histories int
	slots     int // child processes running at once
	childOps  int // operations per slot (replacements take over a killed child's rest)
	localOps  int // operations of the in-process client
	killRate  int // percent of child operations that get a kill
	rate      int // store faults in percent of calls (children and in-process client)
}

func procDefault() procConfig {
	c := procConfig{histories: 2, slots: 3, childOps: 14, localOps: 12, killRate: 30, rate: 3}
	if os.Getenv(longEnv) != "" {
		c.histories, c.childOps, c.localOps = 12, 30, 25
	}
	return c
}

// procFigures are what a run checked.
type procFigures struct {
	mu                                 sync.Mutex
	histories, ops, childOps           int
	unknown, resolved                  int
	processes                          int
	kills                              map[string]int
	fences, finalRepairs, tempsCleaned int
	faults                             faultCounts
}

func (f *procFigures) kill(point string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kills == nil {
		f.kills = map[string]int{}
	}
	f.kills[point]++
}

func (f *procFigures) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ks []string
	total := 0
	for k, n := range f.kills {
		ks = append(ks, fmt.Sprintf("%s=%d", k, n))
		total += n
	}
	sort.Strings(ks)
	return fmt.Sprintf("%d histories, %d operations (%d in child processes; %d with an unknown outcome, %d of them found in the log), "+
		"%d processes, %d kills (%s), %d claim_expired fences during the runs, %d claims or leftovers repaired at the end, %d temporary files cleaned, store faults: %s",
		f.histories, f.ops, f.childOps, f.unknown, f.resolved, f.processes, total, strings.Join(ks, " "),
		f.fences, f.finalRepairs, f.tempsCleaned, f.faults.String())
}

func TestLinearizableProcessesDisk(t *testing.T) {
	runProcLincheck(t, procDefault(), func(t *testing.T) (string, storage.Store, func(context.Context) int) {
		dir := t.TempDir()
		s, err := diskstore.Open(dir, nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return dir, s, func(ctx context.Context) int {
			// A killed Put leaves its temporary file: remove them as a
			// host's maintenance would, and check none is left.
			n := countTemp(dir)
			_, err := s.Clean(ctx, 0)
			require.NoError(t, err)
			require.Zero(t, countTemp(dir), "temporary files left after Clean")
			return n
		}
	})
}

func TestLinearizableProcessesS3(t *testing.T) {
	srv := testservers.StartVersityGW(t)
	srv.Setenv(t) // the children inherit the credentials
	c := procDefault()
	c.histories = 1
	if os.Getenv(longEnv) != "" {
		c.histories = 4
	}
	runProcLincheck(t, c, func(t *testing.T) (string, storage.Store, func(context.Context) int) {
		url := srv.NewBucket(t)
		s, err := blobstore.Open(context.Background(), url, nil)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return url, s, nil
	})
}

func runProcLincheck(t *testing.T, c procConfig, newStore func(t *testing.T) (string, storage.Store, func(context.Context) int)) {
	seed := crashSeed(t)
	t.Logf("seed %d (rerun with MODELVAULT_CRASH_SEED=%d; the moments kills land still depend on timing)", seed, seed)
	fig := &procFigures{}
	start := time.Now()
	pkgs := writePackages(t, linVersions)
	zips := map[string][]byte{}
	for _, v := range linVersions {
		zips[v] = zipOf(t, pkgFiles(v, ""))
	}
	for h := 0; h < c.histories; h++ {
		ok := t.Run(fmt.Sprintf("history%d", h), func(t *testing.T) {
			target, store, clean := newStore(t)
			ph := &procHistory{c: c, target: target, base: store, pkgs: pkgs, zips: zips, fig: fig,
				seed: seed + uint64(h)*1000, rng: rand.New(rand.NewPCG(seed+uint64(h)*1000, 7)), nextID: 100}
			ph.run(t, clean)
		})
		if !ok {
			break
		}
	}
	t.Logf("figures: %s, in %v", fig, time.Since(start).Round(time.Millisecond))
}

// procHistory is one history of the multi-process check.
type procHistory struct {
	c      procConfig
	target string
	base   storage.Store
	pkgs   string
	zips   map[string][]byte
	fig    *procFigures
	seed   uint64
	rec    *recorder

	mu     sync.Mutex // guards rng, nextID, ended, faults, opDur
	rng    *rand.Rand
	nextID int
	ended  []*procChild
	// faults holds each child's latest report of its store faults.
	faults map[int]map[faultKind]int
	// opDur is a moving average of child operations' durations per
	// kind, for the random kill's timing.
	opDur map[string]time.Duration
}

// procChild is a child process running one client.
type procChild struct {
	*child
	id int
}

func (ph *procHistory) run(t *testing.T, clean func(context.Context) int) {
	ctx := context.Background()
	ph.rec = &recorder{start: time.Now()}
	ph.faults = map[int]map[faultKind]int{}
	ph.opDur = map[string]time.Duration{}
	clock := &jumpClock{}
	opts := func() *registry.Options {
		return &registry.Options{Now: clock.Now, ClaimLease: procLease, PollInterval: 50 * time.Millisecond, SkipOpenScan: true}
	}
	lf := &linFigures{}

	// Seed: two versions, one deployed, as client 0.
	seedClient := &linClient{id: 0, reg: openReg(t, ph.base, opts()), rec: ph.rec, zips: ph.zips,
		rng: rand.New(rand.NewPCG(ph.seed, 1)), clock: clock, fig: lf}
	seedClient.doImport(ctx, "1.0")
	seedClient.doImport(ctx, "2.0")
	seedClient.doDeploy(ctx, "1.0")

	// One client in this process, with the store nemesis and tampering.
	ns := newNemesisStore(ph.base, ph.seed+1, ph.c.rate, &lf.faults)
	reg := openReg(t, ns, opts())
	live, err := registry.NewLive(ctx, reg, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { live.Close() })
	tamper := &tamperSet{files: map[string][]byte{}}
	local := &linClient{id: 1, reg: reg, live: live, store: ns, rec: ph.rec, clock: clock, zips: ph.zips,
		rng: rand.New(rand.NewPCG(ph.seed+1, 2)), fig: lf, tamper: tamper}

	ns.enabled.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range ph.c.localOps {
			local.randomOp(ctx)
		}
	}()
	errs := make(chan error, ph.c.slots)
	for range ph.c.slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- ph.runSlot(t)
		}()
	}
	wg.Wait()
	ns.enabled.Store(false)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	// Quiesce: restore tampered files, then observe every client's view.
	restored := tamper.restore(t, ph.base)
	fresh := openReg(t, ph.base, opts())
	for i, r := range []*registry.Registry{fresh, reg} {
		call := ph.rec.now()
		require.NoError(t, r.Sync(ctx))
		ph.rec.observe(2+i, observe(r), call, ph.rec.now())
	}
	want := ""
	for _, v := range fresh.List(nil) {
		if v.Status == registry.StatusDeployed {
			want = v.Version
		}
	}
	// Every surviving child's Live serves the deployed version, and its
	// registry sees the final state.
	for _, pc := range ph.ended {
		call := ph.rec.now()
		fmt.Fprintf(pc.stdin, "end %s\n", want)
		m, err := pc.next()
		require.NoError(t, err, "client %d's last report", pc.id)
		require.Equal(t, "served", m.T)
		ph.rec.observe(pc.id, m.Observed, call, ph.rec.now())
		if want != "" {
			require.Equal(t, want, m.Served, "client %d's Live (last error %s)", pc.id, m.Detail)
		}
		require.NoError(t, pc.wait(time.Minute), "client %d", pc.id)
	}
	hist, err := fresh.History(ctx, nil)
	require.NoError(t, err)
	ph.rec.resolve(t, hist)
	checkReturnedEvents(t, hist, ph.rec)
	checkHistory(t, ph.rec)
	checkFiles(t, ph.base, fresh)
	if want != "" {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		require.NoError(t, live.WaitFor(wctx, want), "the in-process Live (last error %v)", live.Err())
		cancel()
	}
	fences := 0
	for _, e := range hist {
		if e.Type == registry.EventClaimExpired {
			fences++
		}
	}
	temps := 0
	if clean != nil {
		temps = clean(ctx)
	}
	// The invariants, after a repair with every lease expired: claims and
	// files of killed importers are removed, nothing else.
	rep := linInvariants(t, ph.base, fresh, restored)

	ph.fig.mu.Lock()
	ph.fig.histories++
	ph.fig.ops += len(ph.rec.raw)
	for _, op := range ph.rec.raw {
		if op.client >= 100 {
			ph.fig.childOps++
		}
	}
	ph.fig.unknown += ph.rec.unknown
	ph.fig.resolved += ph.rec.resolved
	ph.fig.fences += fences
	ph.fig.tempsCleaned += temps
	ph.fig.finalRepairs += len(rep.Repair.ReleasedClaims) + len(rep.Repair.RemovedImports) + len(rep.Repair.RemovedDeleted)
	ph.fig.mu.Unlock()
	for k, n := range lf.faults.snapshot() {
		for range n {
			ph.fig.faults.add(k)
		}
	}
	for _, m := range ph.faults {
		for k, n := range m {
			for range n {
				ph.fig.faults.add(k)
			}
		}
	}
}

// runSlot runs child processes one after another until c.childOps
// operations are done: a killed child is replaced by a new process (a
// new client) that does the rest. The next process is started ahead, so
// its start overlaps the current one's work.
func (ph *procHistory) runSlot(t *testing.T) error {
	budget := ph.c.childOps
	spare := ph.startChild(t)
	for budget > 0 {
		pc := spare
		spare = ph.startChild(t)
		ph.mu.Lock()
		pc.id = ph.nextID
		ph.nextID++
		childSeed := ph.rng.Uint64()
		ph.mu.Unlock()
		fmt.Fprintf(pc.stdin, "%d %d %d\n", pc.id, childSeed, budget)
		done, err := ph.drive(pc, &budget)
		if err != nil {
			return fmt.Errorf("client %d: %w", pc.id, err)
		}
		if done {
			ph.mu.Lock()
			ph.ended = append(ph.ended, pc)
			ph.mu.Unlock()
			return nil
		}
	}
	return nil
}

func (ph *procHistory) startChild(t *testing.T) *procChild {
	ph.fig.mu.Lock()
	ph.fig.processes++
	ph.fig.mu.Unlock()
	return &procChild{child: startProcChild(t, childStoreEnv+"="+ph.target, childPkgsEnv+"="+ph.pkgs,
		procRateEnv+"="+strconv.Itoa(ph.c.rate))}
}

// startProcChild is startChild with the child's stdout on a pipe of our
// own: exec's StdoutPipe is closed by Wait as soon as the child exits,
// which would lose the lines a killed child wrote last (its "kill" line,
// a return) and fail the read with "file already closed".
func startProcChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(append(os.Environ(), childEnv+"=lincheck"), env...)
	newProcessGroup(cmd)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout = w
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	c := &child{cmd: cmd, stdin: in, stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = &limitedWriter{b: c.stderr} // written by one goroutine, read after Wait
	err = cmd.Start()
	w.Close() // the child holds the write end now
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	c.stdout = bufio.NewScanner(r)
	c.stdout.Buffer(make([]byte, 1<<16), 1<<24)
	go func() {
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.kill()
		r.Close()
	})
	return c
}

// procMsg is one line between a child and the parent.
type procMsg struct {
	// T is ready, call, ret, kill (the child kills itself at Point),
	// done (its operations are done) or served (its last report).
	T       string          `json:"t"`
	Actor   string          `json:"actor,omitempty"`
	Kind    string          `json:"kind,omitempty"`
	Version string          `json:"version,omitempty"`
	Out     *linOutput      `json:"out,omitempty"`
	Failed  bool            `json:"failed,omitempty"`
	Event   *registry.Event `json:"event,omitempty"`
	Noop    bool            `json:"noop,omitempty"`
	Verdict *bool           `json:"verdict,omitempty"`
	Point   string          `json:"point,omitempty"`
	// Faults are the child's store faults so far.
	Faults   map[faultKind]int `json:"faults,omitempty"`
	Served   string            `json:"served,omitempty"`
	Observed string            `json:"observed,omitempty"`
	Detail   string            `json:"detail,omitempty"`
}

// next reads the child's next message; io.EOF when it exited.
func (pc *procChild) next() (*procMsg, error) {
	for pc.stdout.Scan() {
		line := pc.stdout.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue // the testing package's own output
		}
		m := &procMsg{}
		if err := json.Unmarshal(line, m); err != nil {
			return nil, fmt.Errorf("%q: %w", line, err)
		}
		return m, nil
	}
	if err := pc.stdout.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// drive runs one child until it is done (true) or dead (false), recording
// its operations and killing it as the nemesis decides.
func (ph *procHistory) drive(pc *procChild, budget *int) (bool, error) {
	var (
		pending *rawOp
		timer   *time.Timer
		// killMu orders a random kill against its cancellation: once
		// stopTimer returned, fired is final.
		killMu sync.Mutex
		armed  bool
		fired  bool
		self   bool // the child announced its own kill
	)
	stopTimer := func() {
		killMu.Lock()
		defer killMu.Unlock()
		armed = false
		if timer != nil {
			timer.Stop()
			timer = nil
		}
	}
	defer stopTimer()
	killed := func() bool {
		killMu.Lock()
		defer killMu.Unlock()
		return fired
	}
	for {
		m, err := pc.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false, err
		}
		switch m.T {
		case "ready":
		case "call":
			pending = &rawOp{client: pc.id, actor: m.Actor, kind: m.Kind, version: m.Version, call: ph.rec.now()}
			point, delay := ph.pickKill(m.Kind)
			if point == killRandom {
				killMu.Lock()
				armed = true
				timer = time.AfterFunc(delay, func() {
					killMu.Lock()
					defer killMu.Unlock()
					if armed {
						fired = true
						killProcessGroup(pc.cmd)
					}
				})
				killMu.Unlock()
				point = ""
			}
			fmt.Fprintf(pc.stdin, "go %s\n", point)
		case "ret":
			stopTimer()
			if pending == nil || pending.actor != m.Actor {
				return false, fmt.Errorf("return of %s without its call", m.Actor)
			}
			pending.ret = ph.rec.now()
			pending.out = m.Out
			if m.Failed {
				pending.err = errors.New(m.Out.Detail)
			}
			pending.event, pending.noop, pending.verdict = m.Event, m.Noop, m.Verdict
			ph.rec.add(pending)
			ph.mu.Lock()
			ph.faults[pc.id] = m.Faults
			d := min(time.Duration(pending.ret-pending.call), time.Second)
			if avg, ok := ph.opDur[pending.kind]; ok {
				d = (3*avg + d) / 4
			}
			ph.opDur[pending.kind] = d
			ph.mu.Unlock()
			pending = nil
			*budget--
		case "kill":
			self = true
			ph.fig.kill(m.Point)
		case "done":
			stopTimer()
			ph.mu.Lock()
			ph.faults[pc.id] = m.Faults
			ph.mu.Unlock()
			if !killed() {
				return true, nil
			}
			// The random kill fired as the last operation returned.
		default:
			return false, fmt.Errorf("unexpected message %+v", m)
		}
	}
	// The child died.
	if err := pc.wait(time.Minute); err != nil {
		st, ok := pc.cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !st.Signaled() || st.Signal() != syscall.SIGKILL {
			return false, err
		}
	}
	if !self {
		if !killed() {
			return false, fmt.Errorf("exited without being killed: %s", pc.stderr.String())
		}
		ph.fig.kill(killRandom)
	}
	if pending != nil {
		pending.ret = ph.rec.now()
		pending.err = errKilled
		ph.rec.add(pending)
		*budget--
	}
	return false, nil
}

// pickKill decides whether an operation of kind gets a kill, and where.
func (ph *procHistory) pickKill(kind string) (string, time.Duration) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.rng.IntN(100) >= ph.c.killRate {
		return "", 0
	}
	points := []string{killRandom, killCommit}
	switch kind {
	case "import":
		points = append(points, killClaim, killFile)
	case "delete", "prune", "repair":
		points = append(points, killCleanup)
	}
	p := points[ph.rng.IntN(len(points))]
	if p == killFile {
		p = fmt.Sprintf("%s:%d", killFile, 1+ph.rng.IntN(3))
	}
	// A random kill lands within twice the operation's usual duration:
	// about half of them before it returns.
	d, ok := ph.opDur[kind]
	if !ok {
		d = 20 * time.Millisecond
	}
	return p, time.Duration(ph.rng.Int64N(2*int64(d) + 1))
}

// The child's side.

// killStore kills its process right after a store call that the parent
// armed it for returned success.
type killStore struct {
	storage.Store
	mu    sync.Mutex
	point string // "" when disarmed
	files int    // package files still to write before a killFile kill
}

func (s *killStore) arm(point string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.point, s.files = point, 0
	if n, ok := strings.CutPrefix(point, killFile+":"); ok {
		s.point = killFile
		s.files, _ = strconv.Atoi(n)
	}
}

// hit kills the process if it is armed for point (after n more hits, for
// file writes).
func (s *killStore) hit(point string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.point != point {
		return
	}
	if point == killFile {
		if s.files--; s.files > 0 {
			return
		}
	}
	// Stdout is unbuffered: the parent reads this line before the EOF.
	_ = json.NewEncoder(os.Stdout).Encode(procMsg{T: "kill", Point: point})
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // holding mu: nothing else happens before the signal lands
}

func (s *killStore) Put(ctx context.Context, key string, r io.Reader, opts *storage.PutOptions) error {
	err := s.Store.Put(ctx, key, r, opts)
	if err == nil {
		create := opts != nil && opts.IfNotExist
		switch {
		case create && strings.HasPrefix(key, "_registry/claims/"):
			s.hit(killClaim)
		case create && strings.HasPrefix(key, "_registry/log/"):
			s.hit(killCommit)
		case !strings.HasPrefix(key, "_registry/"):
			s.hit(killFile)
		}
	}
	return err
}

func (s *killStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	if err == nil && !strings.HasPrefix(key, "_registry/") {
		s.hit(killCleanup)
	}
	return err
}

// procHook reports a child's operations to the parent and arms the kill
// store as the parent says.
type procHook struct {
	in   *bufio.Scanner
	out  *json.Encoder
	kill *killStore
	fig  *linFigures
	err  error // the first failure to talk to the parent
}

func (h *procHook) begin(op *rawOp) {
	if h.err != nil {
		return
	}
	if h.err = h.out.Encode(procMsg{T: "call", Actor: op.actor, Kind: op.kind, Version: op.version}); h.err != nil {
		return
	}
	if !h.in.Scan() {
		h.err = fmt.Errorf("no answer to %s: %v", op.actor, h.in.Err())
		return
	}
	point, ok := strings.CutPrefix(h.in.Text(), "go")
	if !ok {
		h.err = fmt.Errorf("answer %q to %s", h.in.Text(), op.actor)
		return
	}
	h.kill.arm(strings.TrimSpace(point))
}

func (h *procHook) end(op *rawOp) {
	h.kill.arm("")
	if h.err != nil {
		return
	}
	out := classify(op.err)
	h.err = h.out.Encode(procMsg{T: "ret", Actor: op.actor, Out: &out, Failed: op.err != nil,
		Event: op.event, Noop: op.noop, Verdict: op.verdict, Faults: h.fig.faults.snapshot()})
}

// linProcChild runs one client of the multi-process check: it reads its
// client id, seed and number of operations from stdin, runs them (a
// repair first, as a replica restarting after a crash does), reports
// them, and at the end waits until its Live serves the version the parent
// names and reports what it serves and sees.
func linProcChild() error {
	ctx := context.Background()
	in := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	if !in.Scan() {
		return fmt.Errorf("no start line: %v", in.Err())
	}
	var id, nops int
	var seed uint64
	if _, err := fmt.Sscan(in.Text(), &id, &seed, &nops); err != nil {
		return fmt.Errorf("start line %q: %w", in.Text(), err)
	}
	rate, err := strconv.Atoi(os.Getenv(procRateEnv))
	if err != nil {
		return err
	}
	store, err := openChildStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	ks := &killStore{Store: store}
	fig := &linFigures{}
	ns := newNemesisStore(ks, seed, rate, &fig.faults)
	clock := &jumpClock{}
	reg, err := registry.Open(ctx, ns, &registry.Options{Now: clock.Now, ClaimLease: procLease, PollInterval: 50 * time.Millisecond, SkipOpenScan: true})
	if err != nil {
		return err
	}
	defer reg.Close()
	newLive := func() (*registry.Live[*testModel], error) {
		return registry.NewLive(ctx, reg, testLoader(nil, nil, nil), &registry.LiveOptions[*testModel]{RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	}
	// The deployed version may not load right now (a tampered file):
	// the Live is then started at the end, after the parent restored it.
	live, err := newLive()
	if err == nil {
		defer live.Close()
	}
	zips := map[string][]byte{}
	for _, v := range linVersions {
		if zips[v], err = os.ReadFile(filepath.Join(os.Getenv(childPkgsEnv), modelpkg.FileName(v))); err != nil {
			return err
		}
	}
	hook := &procHook{in: in, out: out, kill: ks, fig: fig}
	c := &linClient{id: id, reg: reg, live: live, store: ns, rec: &recorder{start: time.Now()}, clock: clock, zips: zips,
		rng: rand.New(rand.NewPCG(seed, 2)), fig: fig, hook: hook}
	if err := out.Encode(procMsg{T: "ready"}); err != nil {
		return err
	}
	ns.enabled.Store(true)
	c.doRepair(ctx)
	for c.n < nops && hook.err == nil {
		c.randomOp(ctx)
	}
	ns.enabled.Store(false)
	if hook.err != nil {
		return hook.err
	}
	if err := out.Encode(procMsg{T: "done", Faults: fig.faults.snapshot()}); err != nil {
		return err
	}
	if !in.Scan() {
		return fmt.Errorf("no end line: %v", in.Err())
	}
	want, ok := strings.CutPrefix(in.Text(), "end ")
	if !ok {
		return fmt.Errorf("end line %q", in.Text())
	}
	if err := reg.Sync(ctx); err != nil {
		return err
	}
	m := procMsg{T: "served", Observed: observe(reg)}
	if live == nil {
		if live, err = newLive(); err != nil {
			m.Detail = err.Error()
			return out.Encode(m)
		}
		defer live.Close()
	}
	if want != "" {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := live.WaitFor(wctx, want); err != nil {
			m.Detail = fmt.Sprint(live.Err())
		}
	}
	m.Served = live.Version()
	return out.Encode(m)
}
