package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelvault/modelvault/modelpkg"
)

func cmdExport() *command {
	return &command{
		name: "export", args: "VERSION [-o FILE]", minArgs: 1, maxArgs: 1,
		summary: "write a stored version as a package",
		help: `Writes VERSION as a package: the archive 'modelctl pack' makes from the
stored files and their manifest, byte-identical to the package built from
the same files, so that a version can be moved to another store, inspected
or archived. Every file is checked against its SHA-256 as it is read; a
tampered version fails and nothing is written. FILE defaults to
model_{VERSION}_deployment.zip in the current directory.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.out, "o", "", "output file (default model_{VERSION}_deployment.zip)")
		},
		run: runExport,
	}
}

func runExport(e *env, o *cmdOpts, args []string) error {
	version := args[0]
	if err := modelpkg.ValidateVersion(version); err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = modelpkg.FileName(version)
	}
	reg, done, err := e.openRegistry(nil)
	if err != nil {
		return err
	}
	defer done()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".modelctl-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = reg.Export(e.ctx, version, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "version": version, "output": out, "size": fi.Size()})
		return nil
	}
	fmt.Fprintf(e.stdout, "wrote %s (%s)\n", out, humanBytes(fi.Size()))
	return nil
}
