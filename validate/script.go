package validate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ScriptOptions configures [Script].
type ScriptOptions struct {
	// Interpreter is the program that runs the script, e.g.
	// "/usr/bin/python3". It is required: no interpreter is guessed.
	Interpreter string
	// Args are extra arguments placed before the script's path.
	Args []string
	// Script is the script's path in the package (default
	// "validate_model.py").
	Script string
	// Timeout bounds the run (default one minute).
	Timeout time.Duration
	// Env is the child's whole environment (default: empty).
	Env []string
	// MaxOutput bounds how much of the script's output is kept for the
	// finding's message (default 64 KiB).
	MaxOutput int
	// TempDir is where the package is copied (default os.TempDir()).
	TempDir string
}

// Script returns an opt-in validator that runs the package's own
// validation script (validate_model.py) with a host-chosen interpreter,
// in a temporary copy of the package, with a timeout, an empty
// environment and its working directory set to the copy. A non-zero exit
// is a script_failed finding carrying the script's output.
//
// It executes code that came with the package. It is never part of
// [Default]: only hosts that trust their package authors, or sandbox the
// interpreter, should add it.
func Script(opts *ScriptOptions) Validator {
	var o ScriptOptions
	if opts != nil {
		o = *opts
	}
	if o.Script == "" {
		o.Script = "validate_model.py"
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = 64 << 10
	}
	return Func(func(ctx context.Context, pkg *Package, r *Report) {
		if o.Interpreter == "" {
			r.Errorf(ErrScriptFailed, o.Script, "no interpreter configured for %s", o.Script)
			return
		}
		dir, err := os.MkdirTemp(o.TempDir, "modelvault-validate-*")
		if err != nil {
			r.Errorf(ErrScriptFailed, o.Script, "temporary copy: %v", err)
			return
		}
		defer os.RemoveAll(dir)
		if err := copyFS(ctx, dir, pkg.FS); err != nil {
			r.Errorf(ErrScriptFailed, o.Script, "temporary copy: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		args := append(append([]string(nil), o.Args...), filepath.Join(dir, filepath.FromSlash(o.Script)))
		cmd := exec.CommandContext(ctx, o.Interpreter, args...)
		cmd.Dir = dir
		cmd.Env = o.Env
		if cmd.Env == nil {
			cmd.Env = []string{}
		}
		out := &capped{max: o.MaxOutput}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = time.Second
		err = cmd.Run()
		switch {
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			r.Errorf(ErrScriptFailed, o.Script, "%s timed out after %s: %s", o.Script, o.Timeout, out.text())
		case err != nil:
			r.Errorf(ErrScriptFailed, o.Script, "%s failed: %v: %s", o.Script, err, out.text())
		}
	})
}

// copyFS copies fsys into dir (which must exist).
func copyFS(ctx context.Context, dir string, fsys fs.FS) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			return root.Mkdir(p, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		src, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(dst, src); err != nil {
			dst.Close()
			return err
		}
		return dst.Close()
	})
}

// capped keeps the first max bytes written to it.
type capped struct {
	max int
	buf bytes.Buffer
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
			c.cut = true
		} else {
			c.buf.Write(p)
		}
	} else if len(p) > 0 {
		c.cut = true
	}
	return len(p), nil
}

func (c *capped) text() string {
	s := strings.TrimSpace(c.buf.String())
	if c.cut {
		s += fmt.Sprintf(" [output cut at %d bytes]", c.max)
	}
	return s
}
