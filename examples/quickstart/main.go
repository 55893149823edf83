// Command quickstart tells modelvault's whole story in a few seconds, with
// no setup: it builds two versions of a real model package (a
// scikit-learn LogisticRegression trained on iris, run by the pure-Go
// runtime modelpkg/sklearn, so no Python runs), imports and validates both into a registry on a
// temporary directory, deploys the first, serves predictions through a
// hot-swapped Live model, deploys the second while a goroutine keeps
// predicting (no request fails), rolls back, and prints the history.
//
//	go run ./examples/quickstart
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/modelpkg/sklearn/sklearnloader"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage/diskstore"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	// 1. A store: a temporary directory (fsync on, as in production).
	dir, err := os.MkdirTemp("", "modelvault-quickstart-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := diskstore.Open(dir, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	reg, err := registry.Open(ctx, store, nil)
	if err != nil {
		return err
	}
	defer reg.Close()
	say("== a registry in %s", dir)

	// 2. Two versions of a package, built the way a producer would.
	alice := registry.Caller{Actor: "alice"}
	for _, version := range []string{"1.0", "2.0"} {
		var zip bytes.Buffer
		if _, err := modelpkg.Build(ctx, &zip, irispkg.PackageFiles(version), nil); err != nil {
			return err
		}
		name := modelpkg.FileName(version)
		v, err := reg.Import(ctx, name, &zip, &registry.ImportOptions{Caller: alice})
		if err != nil {
			return err
		}
		say("imported %-26s -> %s %s: %d files, %d bytes, status %s, %d warnings",
			name, v.ModelType, v.Version, len(v.Files), v.Size, v.Status, len(v.Findings))
	}

	// 3. Validate again from the store: every file re-hashed, the model
	// scanned statically (never unpickled).
	for _, version := range []string{"1.0", "2.0"} {
		rep, err := reg.Validate(ctx, version, &alice)
		if err != nil {
			return err
		}
		say("validated %s: valid=%v, %d findings", version, rep.Valid(), len(rep.Findings))
	}

	// 4. Deploy 1.0 and serve it through a Live model.
	if _, err := reg.Deploy(ctx, "1.0", &registry.Caller{Actor: "alice", Reason: "first release"}); err != nil {
		return err
	}
	live, err := registry.NewLive(ctx, reg, sklearnloader.New(nil), nil)
	if err != nil {
		return err
	}
	defer live.Close()
	say("\n== serving %s", live.Version())
	if err := predictSamples(live, say); err != nil {
		return err
	}

	// 5. Deploy 2.0 while a client keeps predicting.
	say("\n== deploying 2.0 under load")
	var served sync.Map // version -> *atomic.Int64
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			lease, err := live.Acquire()
			if err != nil {
				failed.Add(1)
				continue
			}
			if _, err := lease.Model().Predict(irispkg.Samples[i%len(irispkg.Samples) : i%len(irispkg.Samples)+1]); err != nil {
				failed.Add(1)
			}
			n, _ := served.LoadOrStore(lease.Version(), new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			lease.Release()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := reg.Deploy(ctx, "2.0", &registry.Caller{Actor: "bob", Reason: "retrained on all features"}); err != nil {
		return err
	}
	if err := waitFor(ctx, live, "2.0"); err != nil {
		return err
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	var total int64
	for _, v := range []string{"1.0", "2.0"} {
		if n, ok := served.Load(v); ok {
			say("  %8d predictions served by %s", n.(*atomic.Int64).Load(), v)
			total += n.(*atomic.Int64).Load()
		}
	}
	say("  %8d failed requests during the swap", failed.Load())
	if failed.Load() != 0 {
		return errors.New("requests failed during the swap")
	}
	say("now serving %s", live.Version())
	if err := predictSamples(live, say); err != nil {
		return err
	}

	// 6. Roll back: the previous deployment comes back.
	ev, err := reg.Rollback(ctx, &registry.RollbackOptions{Caller: registry.Caller{Actor: "carol", Reason: "2.0 misbehaves in production"}})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, live, ev.To); err != nil {
		return err
	}
	say("\n== rolled back %s -> %s; serving %s", ev.From, ev.To, live.Version())

	// 7. History: every change, who made it and why.
	history, err := reg.History(ctx, nil)
	if err != nil {
		return err
	}
	say("\n== history")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tEVENT\tVERSION\tFROM\tTO\tACTOR\tREASON")
	for _, e := range history {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Type, e.Version, dash(e.From), dash(e.To), e.Actor, e.Reason)
	}
	return tw.Flush()
}

func predictSamples(live *registry.Live[*sklearn.Model], say func(string, ...any)) error {
	return live.Do(func(m *sklearn.Model) error {
		X := irispkg.Samples[:3]
		labels, err := m.Predict(X)
		if err != nil {
			return err
		}
		probs, err := m.PredictProba(X)
		if err != nil {
			return err
		}
		for i, x := range X {
			say("  predict %s -> %-10s (p=%.2f, expected %s)", features(x), labels[i], slices.Max(probs[i]), irispkg.SampleLabels[i])
		}
		return nil
	})
}

// waitFor waits until live serves version: a Live follows the registry
// asynchronously, and WaitFor returns once this process serves it.
func waitFor(ctx context.Context, live *registry.Live[*sklearn.Model], version string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return live.WaitFor(ctx, version)
}

func features(x []float64) string {
	parts := make([]string, len(x))
	for i, v := range x {
		parts[i] = strconv.FormatFloat(v, 'f', 1, 64)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
