// Command replicas shows modelvault's scale-out story: several registry
// instances share one bucket, one of them deploys, and every instance's
// Live model follows within a poll interval. There is no coordinator: the
// registry's state is an append-only log in the bucket, appended with an
// atomic create-if-absent.
//
//	go run ./examples/replicas                       # replicas on one in-memory bucket
//	go run ./examples/replicas -store 's3://bucket?endpoint=http://127.0.0.1:7070&use_path_style=true&region=us-east-1'
//
// With -store, each replica opens the URL itself, as separate processes
// would (the S3, GCS and Azure drivers are linked in).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"gocloud.dev/blob/memblob"

	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
	_ "gocloud.dev/blob/gcsblob"   // gs:// URLs
	_ "gocloud.dev/blob/s3blob"    // s3:// URLs

	"github.com/modelvault/modelvault/internal/irispkg"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/modelpkg/sklearn/sklearnloader"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/storage/blobstore"
	"github.com/modelvault/modelvault/storage/storeurl"
)

func main() {
	storeURL := flag.String("store", "", "bucket URL shared by the replicas (default: one in-memory bucket)")
	n := flag.Int("replicas", 3, "how many replicas")
	poll := flag.Duration("poll", 100*time.Millisecond, "how often a replica reads the log for others' changes")
	flag.Parse()
	if *n < 2 {
		fmt.Fprintln(os.Stderr, "replicas: -replicas must be at least 2")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, *storeURL, *n, *poll); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// replica is one service instance: its own registry and Live model.
type replica struct {
	name string
	reg  *registry.Registry
	live *registry.Live[*sklearn.Model]
}

func run(ctx context.Context, out io.Writer, storeURL string, n int, poll time.Duration) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	// Each replica gets its own handle on the same bucket.
	openStore := func() (storage.Store, func(), error) {
		s, err := storeurl.Open(ctx, storeURL, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	if storeURL == "" {
		shared := blobstore.New(memblob.OpenBucket(nil), nil)
		defer shared.Close()
		openStore = func() (storage.Store, func(), error) { return shared, func() {}, nil }
		say("== %d replicas on one in-memory bucket (poll every %s)", n, poll)
	} else {
		say("== %d replicas on %s (poll every %s)", n, storeURL, poll)
	}

	loader := sklearnloader.New(nil)

	replicas := make([]*replica, n)
	for i := range replicas {
		store, closeStore, err := openStore()
		if err != nil {
			return err
		}
		defer closeStore()
		reg, err := registry.Open(ctx, store, &registry.Options{PollInterval: poll})
		if err != nil {
			return err
		}
		defer reg.Close()
		replicas[i] = &replica{name: fmt.Sprintf("replica-%d", i), reg: reg}
	}

	// Replica 0 imports two versions; the others see them.
	for _, version := range []string{"1.0", "2.0"} {
		var zip bytes.Buffer
		if _, err := modelpkg.Build(ctx, &zip, irispkg.PackageFiles(version), nil); err != nil {
			return err
		}
		if _, err := replicas[0].reg.Import(ctx, modelpkg.FileName(version), &zip, &registry.ImportOptions{Caller: registry.Caller{Actor: replicas[0].name}}); err != nil {
			return err
		}
	}
	say("%s imported 1.0 and 2.0", replicas[0].name)
	if _, err := replicas[0].reg.Deploy(ctx, "1.0", &registry.Caller{Actor: replicas[0].name, Reason: "first release"}); err != nil {
		return err
	}
	say("%s deployed 1.0", replicas[0].name)

	// Every replica starts serving whatever is deployed.
	for _, r := range replicas {
		live, err := registry.NewLive(ctx, r.reg, loader, nil)
		if err != nil {
			return err
		}
		defer live.Close()
		r.live = live
	}
	if err := follow(ctx, say, replicas, "1.0", time.Now()); err != nil {
		return err
	}

	// Another replica deploys; everyone follows.
	start := time.Now()
	if _, err := replicas[1].reg.Deploy(ctx, "2.0", &registry.Caller{Actor: replicas[1].name, Reason: "retrained"}); err != nil {
		return err
	}
	say("\n%s deployed 2.0", replicas[1].name)
	if err := follow(ctx, say, replicas, "2.0", start); err != nil {
		return err
	}

	// And another rolls back.
	last := replicas[len(replicas)-1]
	start = time.Now()
	ev, err := last.reg.Rollback(ctx, &registry.RollbackOptions{Caller: registry.Caller{Actor: last.name, Reason: "alerts"}})
	if err != nil {
		return err
	}
	say("\n%s rolled back %s -> %s", last.name, ev.From, ev.To)
	if err := follow(ctx, say, replicas, ev.To, start); err != nil {
		return err
	}

	// One history, seen identically by every replica.
	var first []string
	for i, r := range replicas {
		h, err := r.reg.History(ctx, nil)
		if err != nil {
			return err
		}
		var lines []string
		for _, e := range h {
			lines = append(lines, fmt.Sprintf("%d %s %s by %s", e.Seq, e.Type, e.Version, e.Actor))
		}
		if i == 0 {
			first = lines
			continue
		}
		if !slices.Equal(first, lines) {
			return fmt.Errorf("%s sees another history: %q vs %q", r.name, lines, first)
		}
	}
	say("\n== one history, identical on all %d replicas", len(replicas))
	for _, l := range first {
		say("  %s", l)
	}
	return nil
}

// follow waits until every replica serves version and says how long each
// took after start.
func follow(ctx context.Context, say func(string, ...any), replicas []*replica, version string, start time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, r := range replicas {
		for r.live.Version() != version {
			if err := r.live.Err(); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s did not switch to %s: %w", r.name, version, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
		lease, err := r.live.Acquire()
		if err != nil {
			return err
		}
		labels, err := lease.Model().Predict(irispkg.Samples[:1])
		lease.Release()
		if err != nil {
			return err
		}
		say("  %s serves %s after %4d ms (predicts %s)", r.name, version, time.Since(start).Milliseconds(), labels[0])
	}
	return nil
}
