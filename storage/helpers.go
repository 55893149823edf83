package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"

	"golang.org/x/sync/errgroup"
)

// maxPages bounds the number of pages Pages and All fetch, so that a
// backend returning a page token that never ends cannot loop forever.
const maxPages = 1 << 24

// maxSizeHint caps how much ReadAll preallocates from a reported size.
const maxSizeHint = 64 << 20

// ReadAll reads the whole object at key, like [os.ReadFile]. The size the
// backend reports is used as a hint only; the bytes actually read decide.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	r, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	if n := r.Size(); n > 0 && n <= maxSizeHint {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteAll stores data under key, like [os.WriteFile]. opts may be nil.
func WriteAll(ctx context.Context, s Store, key string, data []byte, opts *PutOptions) error {
	return s.Put(ctx, key, bytes.NewReader(data), opts)
}

// Exists reports whether an object is stored under key. Errors other than
// [ErrNotExist] are returned.
func Exists(ctx context.Context, s Store, key string) (bool, error) {
	_, err := s.Stat(ctx, key)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, ErrNotExist) {
		return false, nil
	}
	return false, err
}

// Pages iterates over every page of a listing, starting at opts.PageToken.
// It stops after the first error, which it yields with a nil page. opts may
// be nil; it is not modified.
func Pages(ctx context.Context, s Store, opts *ListOptions) iter.Seq2[*ListPage, error] {
	return func(yield func(*ListPage, error) bool) {
		var o ListOptions
		if opts != nil {
			o = *opts
		}
		for range maxPages {
			page, err := s.List(ctx, &o)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(page, nil) || page.NextPageToken == "" {
				return
			}
			if page.NextPageToken == o.PageToken {
				yield(nil, fmt.Errorf("storage: list %q: page token did not advance", o.Prefix))
				return
			}
			o.PageToken = page.NextPageToken
		}
		yield(nil, fmt.Errorf("storage: list %q: more than %d pages", o.Prefix, maxPages))
	}
}

// All iterates over every object of a listing, in lexical key order. With
// opts.Delimiter set, rolled-up prefixes are skipped (use [Pages] to see
// them). It stops after the first error, which it yields with a zero
// ObjectInfo. opts may be nil.
func All(ctx context.Context, s Store, opts *ListOptions) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		for page, err := range Pages(ctx, s, opts) {
			if err != nil {
				yield(ObjectInfo{}, err)
				return
			}
			for _, o := range page.Objects {
				if !yield(o, nil) {
					return
				}
			}
		}
	}
}

// deleteConcurrency bounds the number of Deletes DeletePrefix runs at once.
const deleteConcurrency = 8

// DeletePrefix deletes every object whose key starts with prefix, page by
// page, running a few Deletes at once. An empty prefix deletes everything.
// It returns the first error; objects deleted before it stay deleted.
func DeletePrefix(ctx context.Context, s Store, prefix string) error {
	if err := ValidPrefix(prefix); err != nil {
		return err
	}
	for page, err := range Pages(ctx, s, &ListOptions{Prefix: prefix}) {
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(deleteConcurrency)
		for _, o := range page.Objects {
			g.Go(func() error { return s.Delete(gctx, o.Key) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// Copy streams the object at srcKey in src to dstKey in dst (which may be
// the same store). opts applies to the put; it may be nil.
func Copy(ctx context.Context, dst Store, dstKey string, src Store, srcKey string, opts *PutOptions) error {
	r, err := src.Get(ctx, srcKey)
	if err != nil {
		return err
	}
	defer r.Close()
	return dst.Put(ctx, dstKey, r, opts)
}
