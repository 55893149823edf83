package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/modelvault/modelvault/registry"
)

// bar is a progress bar on standard error, shown only when standard error
// is a terminal and the output is not JSON. A nil *bar does nothing.
type bar struct {
	pb  *progressbar.ProgressBar
	max int64
}

func showProgress(e *env, o *cmdOpts) bool {
	if e.json || o.noProgress {
		return false
	}
	f, ok := e.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newBar(e *env, o *cmdOpts, desc string, max int64) *bar {
	if !showProgress(e, o) {
		return nil
	}
	return &bar{max: max, pb: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// set is an import progress callback: done of total bytes.
func (b *bar) set(done, total int64) {
	if b == nil {
		return
	}
	if total != b.max && total > 0 {
		b.max = total
		b.pb.ChangeMax64(total)
	}
	_ = b.pb.Set64(done)
}

func (b *bar) finish() {
	if b != nil {
		_ = b.pb.Finish()
	}
}

// barWriter counts bytes written through it on a bar.
type barWriter struct {
	io.Writer
	b *bar
	n int64
}

func (w *barWriter) Write(p []byte) (int, error) {
	n, err := w.Writer.Write(p)
	w.n += int64(n)
	w.b.set(w.n, w.b.max)
	return n, err
}

// progressWriter wraps w so that writes advance a bar (when shown).
func progressWriter(e *env, o *cmdOpts, w io.Writer, desc string, max int64) io.Writer {
	b := newBar(e, o, desc, max)
	if b == nil {
		return w
	}
	return &barWriter{Writer: w, b: b}
}

func finishProgress(w io.Writer) {
	if bw, ok := w.(*barWriter); ok {
		bw.b.finish()
	}
}

// dirSize is the total size of the regular files under dir (an estimate
// of a package's size, for the bar).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func printHistory(w io.Writer, h []*registry.Event) {
	if len(h) == 0 {
		fmt.Fprintln(w, "no events")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tVERSION\tACTOR\tREASON")
	for _, e := range h {
		what := e.Version
		if e.Type == registry.EventDeployed || e.Type == registry.EventRolledBack {
			from := e.From
			if from == "" {
				from = "(none)"
			}
			what = from + " -> " + e.To
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05"),
			e.Type, safe(what), safe(e.Actor), safe(strings.ReplaceAll(e.Reason, "\t", " ")))
	}
	tw.Flush()
}
