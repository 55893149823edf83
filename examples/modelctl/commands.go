package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

func cmdInspect() *command {
	return &command{
		name: "inspect", args: "PACKAGE.zip", minArgs: 1, maxArgs: 1,
		summary: "check a package without storing it",
		help: `Checks a package the way an import would, without storing anything: its
file name, the archive's safety (paths, entry types, duplicates, sizes),
required files, metadata, manifest, the SHA-256 of every file, and a static
safety scan of the model, the test load, and a signature when present (with
--allowed-signers, a signature by a trusted key is required). Exit 0 when the
package is acceptable (warnings allowed), 1 when it is rejected.

With --json it prints {"ok": bool, "version": "...", "findings": [...]},
each finding {"severity", "code", "path", "message"}.`,
		run: runInspect,
	}
}

func runInspect(e *env, o *cmdOpts, args []string) error {
	path := args[0]
	report, version, err := checkPackage(e, "inspect", path)
	if err != nil {
		return err
	}
	ok := report.Valid()
	if e.json {
		fs := report.Findings
		if fs == nil {
			fs = []validate.Finding{}
		}
		writeJSON(e.stdout, map[string]any{"ok": ok, "version": version, "findings": fs})
	} else {
		verdict := "acceptable"
		if !ok {
			verdict = "rejected"
		}
		fmt.Fprintf(e.stdout, "%s: %s (%d errors, %d warnings)\n", path, verdict, len(report.Errors()), len(report.Warnings()))
		printFindings(e.stdout, report.Findings)
	}
	if !ok {
		return errRejected
	}
	return nil
}

// checkPackage checks the package file at path as an import would, with
// the trust policy of --allowed-signers, and returns every finding and
// the version its name gives. Only a missing file is an error.
func checkPackage(e *env, op, path string) (*validate.Report, string, error) {
	policy, err := e.trustPolicy()
	if err != nil {
		return nil, "", err
	}
	report := &validate.Report{}
	version, err := modelpkg.ParseFileName(filepath.Base(path))
	if err != nil {
		report.AddError("", err)
	}
	pkg, err := modelpkg.OpenFile(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	if err != nil {
		report.AddError("", err)
		return report, version, nil
	}
	defer pkg.Close()
	for _, w := range pkg.CodedWarnings() {
		report.Warnf(w.Code, "", "%s", w.Message)
	}
	validate.Standard(&validate.Options{Signature: &validate.SignatureOptions{Policy: policy}}).
		Validate(e.ctx, &validate.Package{FS: pkg, Version: version}, report)
	return report, version, nil
}

func cmdPack() *command {
	return &command{
		name: "pack", args: "DIR -o OUT.zip", minArgs: 1, maxArgs: 1,
		summary: "build a package from a directory",
		help: `Builds a package from the files in DIR: writes deployment_manifest.json with
the SHA-256 of every file, stores incompressible files and deflates text.
The output is deterministic. DIR must hold model.joblib, metadata.json and
the companions validate_model.py, inference_example.py, requirements.txt
and README.md ('modelctl init DIR' writes them); pack says what is missing
before it writes. OUT.zip should be named
model_{version}_deployment.zip.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.out, "o", "", "output file (required)")
			fs.BoolVar(&o.noProgress, "no-progress", false, "do not show a progress bar")
		},
		run: runPack,
	}
}

func runPack(e *env, o *cmdOpts, args []string) error {
	if o.out == "" {
		return usagef("pack needs -o OUT.zip")
	}
	if _, err := modelpkg.ParseFileName(filepath.Base(o.out)); err != nil {
		fmt.Fprintf(e.stderr, "modelctl: warning: %v\n", err)
	}
	dir := args[0]
	if missing := missingFiles(dir); len(missing) > 0 {
		// Said before anything is written: the package would be refused
		// with one missing_file finding each.
		return fmt.Errorf("pack %s: missing %s (every package needs them; 'modelctl init %s' writes the companions)",
			dir, strings.Join(missing, ", "), dir)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.out), ".modelctl-pack-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := progressWriter(e, o, tmp, "pack", dirSize(dir))
	m, err := modelpkg.BuildDir(e.ctx, w, dir, nil)
	finishProgress(w)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := os.Rename(tmp.Name(), o.out); err != nil {
		return err
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "output": o.out, "files": len(m.FileHashes) + 1})
		return nil
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d files)\n", o.out, len(m.FileHashes)+1)
	return nil
}

func cmdImport() *command {
	return &command{
		name: "import", args: "PACKAGE.zip", minArgs: 1, maxArgs: 1,
		summary: "import a package into the registry",
		help: `Imports a package: checks it, extracts it into model_{version}/ in the store,
validates it and registers the version as available. Nothing is deployed.
Importing identical content again is a no-op; other content under an
existing version is refused (versions are immutable).`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.BoolVar(&o.noValidate, "no-validate", false, "skip validators other than the manifest and SHA-256 checks")
			fs.BoolVar(&o.dryRun, "dry-run", false, "check and show what would be registered, without writing")
			fs.BoolVar(&o.noProgress, "no-progress", false, "do not show a progress bar")
		},
		run: runImport,
	}
}

func runImport(e *env, o *cmdOpts, args []string) error {
	path := args[0]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	reg, done, err := e.openRegistry(nil)
	if err != nil {
		return err
	}
	defer done()
	bar := newBar(e, o, "import", fi.Size())
	v, err := reg.ImportReaderAt(e.ctx, filepath.Base(path), f, fi.Size(), &registry.ImportOptions{
		Caller:         *e.caller(),
		SkipValidation: o.noValidate,
		DryRun:         o.dryRun,
		Progress:       bar.set,
	})
	bar.finish()
	if err != nil {
		if o.dryRun && v != nil && !e.json {
			printVersion(e, v)
		}
		return err
	}
	if !e.json {
		what := "imported"
		if o.dryRun {
			what = "would import"
		}
		fmt.Fprintf(e.stdout, "%s %s (%s, %s, %d files)\n", what, safe(v.Version), modelType(v), humanBytes(v.Size), len(v.Files))
		printFindings(e.stdout, v.Findings)
		return nil
	}
	writeJSON(e.stdout, map[string]any{"ok": true, "dry_run": o.dryRun, "version": versionJSON(v)})
	return nil
}

func cmdScan() *command {
	return &command{
		name: "scan", args: "", maxArgs: 0,
		summary: "register packages placed in the store by hand",
		help: `Looks for model_{version}/ directories and model_{version}_deployment.zip
files placed in the store by hand, validates each (every file hashed) and
registers the valid ones with import method manual_placement. Invalid ones
are listed with status invalid and their findings. Also repairs what a
crash left behind.`,
		run: runScan,
	}
}

func runScan(e *env, o *cmdOpts, args []string) error {
	reg, done, err := e.openRegistry(nil)
	if err != nil {
		return err
	}
	defer done()
	rep, err := reg.Repair(e.ctx)
	if err != nil {
		return err
	}
	res, err := reg.Scan(e.ctx, e.caller())
	if err != nil {
		return err
	}
	if e.json {
		reg := make([]*registry.Version, 0, len(res.Registered))
		for _, v := range res.Registered {
			reg = append(reg, versionJSON(v))
		}
		inv := make([]*registry.Version, 0, len(res.Invalid))
		for _, v := range res.Invalid {
			inv = append(inv, versionJSON(v))
		}
		writeJSON(e.stdout, map[string]any{"ok": true, "registered": reg, "invalid": inv, "skipped": res.Skipped, "repair": rep})
		return nil
	}
	for _, v := range res.Registered {
		fmt.Fprintf(e.stdout, "registered %s (%s)\n", safe(v.Version), modelType(v))
	}
	for _, v := range res.Invalid {
		fmt.Fprintf(e.stdout, "invalid %s:\n", safe(v.Version))
		printFindings(e.stdout, v.Findings)
	}
	for k, why := range res.Skipped {
		fmt.Fprintf(e.stdout, "skipped %s: %s\n", safe(k), safe(why))
	}
	if len(res.Registered)+len(res.Invalid)+len(res.Skipped) == 0 {
		fmt.Fprintln(e.stdout, "nothing new")
	}
	return nil
}

func cmdList() *command {
	return &command{
		name: "list", args: "", maxArgs: 0,
		summary: "list versions",
		help:    "Lists the registered versions, newest first.",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.status, "status", "", "only this status: available, deployed or invalid")
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			switch registry.Status(o.status) {
			case "", registry.StatusAvailable, registry.StatusDeployed, registry.StatusInvalid:
			default:
				return usagef("--status must be available, deployed or invalid")
			}
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			printVersions(e, reg.List(&registry.ListOptions{Status: registry.Status(o.status)}))
			return nil
		},
	}
}

func cmdShow() *command {
	return &command{
		name: "show", args: "VERSION", minArgs: 1, maxArgs: 1,
		summary: "show one version",
		help:    "Shows a version: status, files with their digests, metadata and findings.",
		run: func(e *env, o *cmdOpts, args []string) error {
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			v, err := reg.Get(args[0])
			if err != nil {
				return err
			}
			printVersion(e, v)
			return nil
		},
	}
}

func cmdValidate() *command {
	return &command{
		name: "validate", args: "VERSION", minArgs: 1, maxArgs: 1,
		summary: "re-check a stored version",
		help: `Validates a stored version again, re-hashing every file. A version that
fails is marked invalid (exit 1); an invalid one that passes becomes
available again.`,
		run: func(e *env, o *cmdOpts, args []string) error {
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			rep, err := reg.Validate(e.ctx, args[0], e.caller())
			if err != nil {
				return err
			}
			if e.json {
				fs := rep.Findings
				if fs == nil {
					fs = []validate.Finding{}
				}
				writeJSON(e.stdout, map[string]any{"ok": rep.Valid(), "version": args[0], "findings": fs})
			} else {
				verdict := "valid"
				if !rep.Valid() {
					verdict = "invalid"
				}
				fmt.Fprintf(e.stdout, "%s: %s\n", args[0], verdict)
				printFindings(e.stdout, rep.Findings)
			}
			if !rep.Valid() {
				return errRejected
			}
			return nil
		},
	}
}

func cmdDeploy() *command {
	return &command{
		name: "deploy", args: "VERSION", minArgs: 1, maxArgs: 1,
		summary: "deploy a version",
		help: `Deploys a version: re-verifies its files and records it as the registry's deployed
version. Deploying the deployed version does nothing.`,
		run: func(e *env, o *cmdOpts, args []string) error {
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			ev, err := reg.Deploy(e.ctx, args[0], e.caller())
			if err != nil {
				return err
			}
			printEvent(e, ev, args[0]+" is already deployed")
			return nil
		},
	}
}

func cmdRollback() *command {
	return &command{
		name: "rollback", args: "[VERSION]", maxArgs: 1,
		summary: "roll back to the previous (or a given) version",
		help: `Deploys an earlier version again: VERSION, or the one deployed before the
current one. Rolling back twice goes back two deployments.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			ro := &registry.RollbackOptions{Caller: *e.caller()}
			if len(args) == 1 {
				ro.To = args[0]
			}
			ev, err := reg.Rollback(e.ctx, ro)
			if err != nil {
				return err
			}
			printEvent(e, ev, "already deployed")
			return nil
		},
	}
}

func cmdHistory() *command {
	return &command{
		name: "history", args: "", maxArgs: 0,
		summary: "show the registry's events",
		help:    "Shows the registry's events in order: imports, deploys, rollbacks, deletions.",
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.version, "version", "", "only events about this version")
			fs.IntVar(&o.limit, "limit", 0, "only the last N events")
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			if o.limit < 0 {
				return usagef("--limit must not be negative")
			}
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			h, err := reg.History(e.ctx, &registry.HistoryOptions{Version: o.version, Limit: o.limit})
			if err != nil {
				return err
			}
			if e.json {
				out := make([]any, len(h))
				for i, ev := range h {
					out[i] = eventJSON(ev)
				}
				writeJSON(e.stdout, map[string]any{"ok": true, "events": out})
				return nil
			}
			var buf bytes.Buffer
			printHistory(&buf, h)
			_, err = e.stdout.Write(buf.Bytes())
			return err
		},
	}
}

func cmdDelete() *command {
	return &command{
		name: "delete", args: "VERSION", minArgs: 1, maxArgs: 1,
		summary: "delete a version that is not deployed",
		help:    "Deletes a version and its files. The deployed version cannot be deleted.",
		run: func(e *env, o *cmdOpts, args []string) error {
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			ev, err := reg.Delete(e.ctx, args[0], e.caller())
			if err != nil {
				return err
			}
			if e.json {
				writeJSON(e.stdout, map[string]any{"ok": true, "event": eventJSON(ev)})
				return nil
			}
			fmt.Fprintf(e.stdout, "deleted %s\n", args[0])
			return nil
		},
	}
}

func cmdPrune() *command {
	return &command{
		name: "prune", args: "--keep N", maxArgs: 0,
		summary: "delete all but the deployed and N newest versions",
		help: `Deletes every version except the deployed one and the N
most recently imported others.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.IntVar(&o.keep, "keep", -1, "how many versions besides the deployed one to keep (required)")
			fs.BoolVar(&o.dryRun, "dry-run", false, "only show what would be deleted")
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			if o.keep < 0 {
				return usagef("prune needs --keep N (N >= 0)")
			}
			reg, done, err := e.openRegistry(nil)
			if err != nil {
				return err
			}
			defer done()
			deleted, err := reg.Prune(e.ctx, &registry.PruneOptions{Caller: *e.caller(), Keep: o.keep, DryRun: o.dryRun})
			if deleted == nil {
				deleted = []string{}
			}
			if err != nil {
				return err
			}
			if e.json {
				writeJSON(e.stdout, map[string]any{"ok": true, "dry_run": o.dryRun, "deleted": deleted})
				return nil
			}
			verb := "deleted"
			if o.dryRun {
				verb = "would delete"
			}
			if len(deleted) == 0 {
				fmt.Fprintln(e.stdout, "nothing to prune")
			}
			for _, v := range deleted {
				fmt.Fprintf(e.stdout, "%s %s\n", verb, v)
			}
			return nil
		},
	}
}
