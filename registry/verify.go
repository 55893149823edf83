package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sync"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
	"github.com/modelvault/modelvault/validate"
)

// verifyingFS serves a stored version's files and checks each file's size
// and SHA-256 while it is read: a read that reaches the end of a file whose
// bytes do not match its record fails with ErrHashMismatch instead of
// returning io.EOF. So a loader that reads a file through it verifies it
// in the same pass. [verifyingFS.verifyRest] then checks the files the
// loader did not read to the end.
type verifyingFS struct {
	ctx   context.Context
	base  fs.FS
	files map[string]File

	mu       sync.Mutex
	verified map[string]bool
	failed   map[string]error
}

func newVerifyingFS(ctx context.Context, store storage.Store, v *Version) *verifyingFS {
	return &verifyingFS{
		ctx:      ctx,
		base:     storage.FS(ctx, store, v.Dir()),
		files:    v.Files,
		verified: map[string]bool{},
		failed:   map[string]error{},
	}
}

// Open implements fs.FS. Files outside the version's record do not exist.
func (v *verifyingFS) Open(name string) (fs.File, error) {
	rec, ok := v.files[name]
	if !ok {
		if name == "." || v.isDir(name) {
			return v.base.Open(name)
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := v.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &verifyingFile{File: f, fs: v, name: name, want: rec, h: sha256.New()}, nil
}

func (v *verifyingFS) isDir(name string) bool {
	prefix := name + "/"
	for f := range v.files {
		if len(f) > len(prefix) && f[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func (v *verifyingFS) done(name string, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.failed[name] = err
	} else {
		v.verified[name] = true
	}
}

// verifyRest reads and checks every file not yet verified, and returns
// an error listing every mismatch found, in this pass or while loading.
func (v *verifyingFS) verifyRest(ctx context.Context) error {
	names := make([]string, 0, len(v.files))
	for name := range v.files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v.mu.Lock()
		skip := v.verified[name] || v.failed[name] != nil
		v.mu.Unlock()
		if skip {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := v.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			// A finding about the version, not a fault of the store.
			v.done(name, &verifyError{name: name, msg: "recorded but missing from the store", kind: modelpkg.ErrMissingFile})
			continue
		}
		if err != nil {
			v.done(name, err)
			continue
		}
		_, err = io.Copy(io.Discard, f.(io.Reader))
		f.Close()
		if err != nil {
			var vf *verifyError
			if !errors.As(err, &vf) {
				v.done(name, err)
			}
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.failed) == 0 {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(v.failed)) {
		errs = append(errs, v.failed[name])
	}
	return errors.Join(errs...)
}

type verifyError struct {
	name string
	msg  string
	kind error // nil means modelpkg.ErrHashMismatch
}

func (e *verifyError) Error() string { return e.name + ": " + e.msg }
func (e *verifyError) Unwrap() error {
	if e.kind != nil {
		return e.kind
	}
	return modelpkg.ErrHashMismatch
}

type verifyingFile struct {
	fs.File
	fs   *verifyingFS
	name string
	want File
	h    hash.Hash
	n    int64
	end  bool
	err  error
}

func (f *verifyingFile) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.File.Read(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	if f.n > f.want.Size {
		f.err = &verifyError{name: f.name, msg: fmt.Sprintf("larger than its recorded %d bytes", f.want.Size)}
		f.fs.done(f.name, f.err)
		return n, f.err
	}
	if err == io.EOF && !f.end {
		f.end = true
		got := hex.EncodeToString(f.h.Sum(nil))
		switch {
		case f.n != f.want.Size:
			f.err = &verifyError{name: f.name, msg: fmt.Sprintf("%d bytes, recorded %d", f.n, f.want.Size)}
		case got != f.want.SHA256:
			f.err = &verifyError{name: f.name, msg: fmt.Sprintf("sha256 %s, recorded %s", got, f.want.SHA256)}
		}
		f.fs.done(f.name, f.err)
		if f.err != nil {
			return n, f.err
		}
	}
	return n, err
}

// Stat reports the recorded size, so a loader sizing a buffer from Stat
// gets the verified figure.
func (f *verifyingFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return sizedInfo{FileInfo: fi, size: f.want.Size}, nil
}

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }

// verifyVersion re-reads every file of v and checks it against its record.
func (r *Registry) verifyVersion(ctx context.Context, v *Version) error {
	vfs := newVerifyingFS(ctx, r.store, v)
	if err := r.checkSignature(ctx, vfs, v); err != nil {
		return err
	}
	err := vfs.verifyRest(ctx)
	if err != nil {
		r.notify(Notice{Kind: NoticeVerificationFailed, Version: v.Version, Err: err})
		return fmt.Errorf("verify %s: %w", v.Version, err)
	}
	return nil
}

// checkSignature re-verifies a version's signature against the trust
// policy (Options.Signers), reading the manifest and its signature through
// fsys, which checks their recorded digests. Without a policy it does
// nothing: the signature was verified at import.
func (r *Registry) checkSignature(ctx context.Context, fsys fs.FS, v *Version) error {
	if r.opts.Signers == nil {
		return nil
	}
	var rep validate.Report
	validate.Signature(&validate.SignatureOptions{Policy: r.opts.Signers, Now: r.opts.Now}).
		Validate(ctx, &validate.Package{FS: fsys, Version: v.Version, Layout: r.layout}, &rep)
	if err := rep.Err(); err != nil {
		r.notify(Notice{Kind: NoticeVerificationFailed, Version: v.Version, Err: err, Findings: rep.Findings})
		return fmt.Errorf("verify %s: signature: %w", v.Version, err)
	}
	return nil
}
