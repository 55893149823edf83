package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/validate"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	defaultRoot = "./models"
)

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// env is what every command gets.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	json   bool
	store  string
	actor  string
	reason string
	// allowedSigners is the trust policy file for package signatures.
	allowedSigners string
}

// command is one subcommand.
type command struct {
	name    string
	args    string // positional arguments, for help
	summary string
	help    string
	flags   func(fs *flag.FlagSet, o *cmdOpts)
	run     func(e *env, o *cmdOpts, args []string) error
	minArgs int
	maxArgs int
}

// cmdOpts holds every command-specific flag.
type cmdOpts struct {
	out        string
	status     string
	version    string
	noValidate bool
	dryRun     bool
	keep       int
	limit      int
	addr       string
	token      string
	noProgress bool
	key        string
	modelType  string
	hosts      string
	modelFile  string
	force      bool
}

func commands() []*command {
	return []*command{
		cmdInit(), cmdInspect(), cmdPack(), cmdImport(), cmdScan(), cmdList(), cmdShow(),
		cmdValidate(), cmdDeploy(), cmdRollback(), cmdHistory(), cmdDelete(), cmdPrune(), cmdServe(),
		cmdSign(), cmdVerify(), cmdPredict(), cmdExport(), cmdMigrate(),
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is main without the process: it parses args, runs the command and
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, store: defaultRoot}
	if s := os.Getenv("MODELVAULT_STORE"); s != "" {
		e.store = s
	}
	e.actor = defaultActor()

	// Global flags may come before the command...
	global := newFlagSet("modelctl", e, nil, nil)
	if err := global.Parse(args); err != nil {
		return usageFail(e, err)
	}
	rest := global.Args()
	if len(rest) == 0 {
		printHelp(e.stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" || name == "-h" || name == "--help" {
		if len(rest) > 0 {
			c := findCommand(rest[0])
			if c == nil {
				return usageFail(e, usagef("unknown command %q", rest[0]))
			}
			printCommandHelp(e.stdout, c)
			return exitOK
		}
		printHelp(e.stdout)
		return exitOK
	}
	c := findCommand(name)
	if c == nil {
		return usageFail(e, usagef("unknown command %q (run 'modelctl help')", name))
	}
	// ...or after it, mixed with the command's own flags and arguments.
	var o cmdOpts
	fs := newFlagSet("modelctl "+c.name, e, c, &o)
	positional, err := parseInterleaved(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(e.stdout, c)
		return exitOK
	}
	if err != nil {
		return usageFail(e, err)
	}
	if len(positional) < c.minArgs || (c.maxArgs >= 0 && len(positional) > c.maxArgs) {
		return usageFail(e, usagef("usage: modelctl %s %s", c.name, c.args))
	}
	if strings.TrimSpace(e.actor) == "" {
		e.actor = defaultActor() // --actor "" does not blank the history
	}
	if err := c.run(e, &o, positional); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return usageFail(e, err)
		}
		if errors.Is(err, errRejected) {
			return exitFailed // already reported
		}
		reportError(e, err)
		return exitFailed
	}
	return exitOK
}

// errRejected: the command printed its own verdict and failed.
var errRejected = errors.New("rejected")

func newFlagSet(name string, e *env, c *command, o *cmdOpts) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.store, "store", e.store, "store: a directory or a URL (mem://, s3://, gs://, azblob://, file://)")
	fs.BoolVar(&e.json, "json", e.json, "print JSON for scripts")
	fs.StringVar(&e.actor, "actor", e.actor, "who performs the operation (recorded in history)")
	fs.StringVar(&e.reason, "reason", e.reason, "why (recorded in history)")
	fs.StringVar(&e.allowedSigners, "allowed-signers", e.allowedSigners, "trust policy for package signatures (OpenSSH allowed_signers format)")
	if c != nil && c.flags != nil {
		c.flags(fs, o)
	}
	return fs
}

// parseInterleaved parses flags that may appear anywhere among the
// positional arguments; "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func usageFail(e *env, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		printHelp(e.stdout)
		return exitOK
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": false, "error": map[string]any{"code": "usage", "message": err.Error(), "findings": []validate.Finding{}}})
	}
	fmt.Fprintf(e.stderr, "modelctl: %v\n", err)
	return exitUsage
}

// reportError prints a failed operation's error, with its findings.
func reportError(e *env, err error) {
	findings := findingsOf(err)
	code := modelpkg.Code(err)
	if code == "" {
		code = "error"
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": false, "error": map[string]any{"code": code, "message": err.Error(), "findings": findings}})
		return
	}
	fmt.Fprintf(e.stderr, "modelctl: %v\n", err)
	if len(findings) > 1 {
		printFindings(e.stderr, findings)
	}
}

func findingsOf(err error) []validate.Finding {
	var verr *validate.Error
	if errors.As(err, &verr) {
		return verr.Findings
	}
	return []validate.Finding{}
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func printFindings(w io.Writer, fs []validate.Finding) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fs {
		path := f.Path
		if path == "" {
			path = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Severity, safe(f.Code), safe(path), safe(oneLine(f.Message)))
	}
	tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printHelp(w io.Writer) {
	fmt.Fprint(w, `modelctl manages model packages (model_{version}_deployment.zip) and a
modelvault registry kept in a store.

Usage:
  modelctl [--store URL|DIR] [--json] COMMAND [ARGS]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, `
Global flags (before or after the command):
  --store URL|DIR  where packages and registry state live (default %s, or
                   $MODELVAULT_STORE): a directory, or mem://, s3://BUCKET?...,
                   gs://BUCKET, azblob://CONTAINER?... (see the README)
  --json           print one JSON document on standard output
  --actor NAME     who performs the operation (default $USER, else the OS user), kept in history
  --reason TEXT    why, kept in history

Exit codes: 0 done, 1 refused or failed, 2 usage error.
Run 'modelctl help COMMAND' for a command's flags.
`, defaultRoot)
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: modelctl %s %s\n\n%s\n", c.name, c.args, c.help)
	var o cmdOpts
	fs := newFlagSet(c.name, &env{}, c, &o)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "store", "json", "actor", "reason":
			return
		}
		lines = append(lines, fmt.Sprintf("  --%s\t%s", f.Name, f.Usage))
	})
	if len(lines) > 0 {
		sort.Strings(lines)
		fmt.Fprintln(w, "\nFlags:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nGlobal flags: --store URL|DIR, --json, --actor NAME, --reason TEXT (see 'modelctl help').")
}

// openRegistry opens the store and the registry on it. Commands that only
// read do not scan the store on open; 'modelctl scan' does.
func (e *env) openRegistry(opts *registry.Options) (*registry.Registry, func(), error) {
	store, closeStore, err := openStore(e.ctx, e.store)
	if err != nil {
		return nil, nil, err
	}
	if opts == nil {
		opts = &registry.Options{}
	}
	if opts.Signers, err = e.trustPolicy(); err != nil {
		closeStore()
		return nil, nil, err
	}
	opts.SkipOpenScan = true
	reg, err := registry.Open(e.ctx, store, opts)
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return reg, func() { reg.Close(); closeStore() }, nil
}

func (e *env) caller() *registry.Caller {
	return &registry.Caller{Actor: e.actor, Reason: e.reason}
}

// versionJSON is a version as modelctl --json prints it.
// trustPolicy parses --allowed-signers, or returns nil without one.
func (e *env) trustPolicy() (*sshsig.AllowedSigners, error) {
	if e.allowedSigners == "" {
		return nil, nil
	}
	f, err := os.Open(e.allowedSigners)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sshsig.ParseAllowedSigners(f)
}

// signedBy describes a version's signer for people.
func signedBy(s *validate.Signer) string {
	switch {
	case s == nil:
		return "-"
	case s.Trusted:
		return safe(s.Principal)
	}
	return s.Fingerprint + " (untrusted)"
}

func versionJSON(v *registry.Version) *registry.Version {
	if v.Findings == nil {
		v.Findings = []validate.Finding{}
	}
	return v
}

// modelType describes a version's estimator class for a one-line summary.
func modelType(v *registry.Version) string {
	if v.ModelType == "" {
		return "no model_type"
	}
	return safe(v.ModelType)
}

func printVersions(e *env, vs []*registry.Version) {
	if e.json {
		out := make([]*registry.Version, len(vs))
		for i, v := range vs {
			out[i] = versionJSON(v)
		}
		writeJSON(e.stdout, map[string]any{"ok": true, "versions": out})
		return
	}
	if len(vs) == 0 {
		fmt.Fprintln(e.stdout, "no versions")
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMODEL TYPE\tSTATUS\tIMPORTED\tMETHOD\tSIZE\tSIGNED BY")
	for _, v := range vs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", safe(v.Version), safe(v.ModelType), v.Status,
			v.ImportedAt.Local().Format("2006-01-02 15:04:05"), v.ImportMethod, humanBytes(v.Size), signedBy(v.Signer))
	}
	tw.Flush()
}

func printVersion(e *env, v *registry.Version) {
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "version": versionJSON(v)})
		return
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\nmodel\t%s\nstatus\t%s\nimport method\t%s\nimported at\t%s\nsize\t%s\nsigned by\t%s\n",
		safe(v.Version), safe(v.ModelType), v.Status, v.ImportMethod, v.ImportedAt.Local().Format("2006-01-02 15:04:05 MST"), humanBytes(v.Size), signedBy(v.Signer))
	tw.Flush()
	fmt.Fprintln(e.stdout, "files:")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, name := range slices.Sorted(maps.Keys(v.Files)) {
		f := v.Files[name]
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", safe(name), humanBytes(f.Size), safe(f.SHA256))
	}
	tw.Flush()
	if len(v.Metadata) > 0 {
		fmt.Fprintf(e.stdout, "metadata: %s\n", safe(string(v.Metadata)))
	}
	if len(v.Findings) > 0 {
		fmt.Fprintln(e.stdout, "findings:")
		printFindings(e.stdout, v.Findings)
	}
}

func printEvent(e *env, ev *registry.Event, verb string) {
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "event": eventJSON(ev)})
		return
	}
	if ev == nil || ev.NoOp {
		fmt.Fprintf(e.stdout, "nothing to do: %s\n", verb)
		return
	}
	from := ev.From
	if from == "" {
		from = "(none)"
	}
	fmt.Fprintf(e.stdout, "%s: %s -> %s (event %d)\n", ev.Type, safe(from), safe(ev.To), ev.Seq)
}

// eventJSON is an event as modelctl --json prints it: the log's event
// without the embedded version record (see 'modelctl show').
func eventJSON(ev *registry.Event) any {
	if ev == nil {
		return nil
	}
	c := *ev
	c.Record = nil
	return &c
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
