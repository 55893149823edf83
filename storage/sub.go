package storage

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
)

// Sub returns a view of the objects of s whose keys start with dir + "/",
// like [fs.Sub]: key "k" in the view is key dir+"/"+k in s. dir may end
// in one "/" ("models/bert" and "models/bert/" are the same view); "" or
// "." returns s itself. A dir that is not a valid key returns an error
// matching [ErrInvalidKey].
//
// Keys given to the view are checked by [ValidKey] before dir is added,
// so nothing reached through it lies outside dir: "../x" is an error, as
// everywhere. Keys and prefixes in its results and errors (ObjectInfo.Key,
// [ListPage.Objects] and [ListPage.Prefixes], [fs.PathError].Path) are
// relative to dir. Page tokens are passed through unchanged. A key is
// valid in the view only if dir+"/"+key is at most [MaxKeyLen] bytes.
//
// The view adds no state: it has the consistency, atomicity and
// conditional-create guarantees of s, and many views over one store are
// safe for concurrent use. A Sub of a view is a view of s.
func Sub(s Store, dir string) (Store, error) {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" || dir == "." {
		return s, nil
	}
	if err := ValidKey(dir); err != nil {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: err}
	}
	if v, ok := s.(*subStore); ok {
		return &subStore{s: v.s, prefix: v.prefix + dir + "/"}, nil
	}
	return &subStore{s: s, prefix: dir + "/"}, nil
}

// subStore is the Store returned by Sub.
type subStore struct {
	s      Store
	prefix string // ends in "/"
}

// relErr rewrites the key of an error from the inner store (a full key)
// to the view's key.
func (v *subStore) relErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: key, Err: pe.Err}
	}
	return &fs.PathError{Op: op, Path: key, Err: err}
}

func (v *subStore) check(op, key string) error {
	if err := ValidKey(key); err != nil {
		return &fs.PathError{Op: op, Path: key, Err: err}
	}
	return nil
}

func (v *subStore) Get(ctx context.Context, key string) (Reader, error) {
	if err := v.check("get", key); err != nil {
		return nil, err
	}
	r, err := v.s.Get(ctx, v.prefix+key)
	if err != nil {
		return nil, v.relErr("get", key, err)
	}
	return r, nil
}

func (v *subStore) Put(ctx context.Context, key string, r io.Reader, opts *PutOptions) error {
	if err := v.check("put", key); err != nil {
		return err
	}
	return v.relErr("put", key, v.s.Put(ctx, v.prefix+key, r, opts))
}

func (v *subStore) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	if err := v.check("stat", key); err != nil {
		return ObjectInfo{}, err
	}
	info, err := v.s.Stat(ctx, v.prefix+key)
	if err != nil {
		return ObjectInfo{}, v.relErr("stat", key, err)
	}
	info.Key = key
	return info, nil
}

func (v *subStore) Delete(ctx context.Context, key string) error {
	if err := v.check("delete", key); err != nil {
		return err
	}
	return v.relErr("delete", key, v.s.Delete(ctx, v.prefix+key))
}

func (v *subStore) List(ctx context.Context, opts *ListOptions) (*ListPage, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	if err := ValidPrefix(o.Prefix); err != nil {
		return nil, &fs.PathError{Op: "list", Path: o.Prefix, Err: err}
	}
	rel := o.Prefix
	o.Prefix = v.prefix + rel
	page, err := v.s.List(ctx, &o)
	if err != nil {
		return nil, v.relErr("list", rel, err)
	}
	out := &ListPage{NextPageToken: page.NextPageToken}
	for _, obj := range page.Objects {
		if k, ok := strings.CutPrefix(obj.Key, v.prefix); ok {
			obj.Key = k
			out.Objects = append(out.Objects, obj)
		}
	}
	for _, p := range page.Prefixes {
		if k, ok := strings.CutPrefix(p, v.prefix); ok {
			out.Prefixes = append(out.Prefixes, k)
		}
	}
	return out, nil
}

// ConditionalCreates forwards [ConditionalCreator]: a view has the
// conditional-create guarantee of the store it is a view of.
func (v *subStore) ConditionalCreates() bool {
	c, ok := v.s.(ConditionalCreator)
	return ok && c.ConditionalCreates()
}
