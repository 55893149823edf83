package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/storage"
)

// predictBatch is how many rows are predicted at once.
const predictBatch = 512

// maxLine bounds one input line.
const maxLine = 1 << 20

func cmdPredict() *command {
	var format string
	var header, proba bool
	return &command{
		name: "predict", args: "VERSION", minArgs: 1, maxArgs: 1,
		summary: "run a stored model on rows from stdin",
		help: `Loads VERSION's model.joblib (checking its SHA-256) with the pure-Go
scikit-learn runtime and predicts the rows read from stdin, printing one
JSON line per row: {"prediction": ...} and, with --proba, the class
probabilities. Input rows are JSON lines (an array of values, or an object
by feature name for a model fitted on named columns; null is a missing
value) or, with --format csv, CSV (an empty cell is missing, a cell that is
not a number is a string category; --header reads feature names from the
first line). A bad row is reported with its line number (exit 1).`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&format, "format", "json", "input format: json (JSON lines) or csv")
			fs.BoolVar(&header, "header", false, "csv: the first line names the features")
			fs.BoolVar(&proba, "proba", false, "also print class probabilities")
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			if format != "json" && format != "csv" {
				return fmt.Errorf("predict: unknown --format %q (json or csv)", format)
			}
			m, err := loadStored(e, args[0])
			if err != nil {
				return err
			}
			if proba && !m.HasPredictProba() {
				return fmt.Errorf("predict: %w: %s has no predict_proba", sklearn.ErrNotAvailable, m.ClassName())
			}
			p := &predictor{e: e, m: m, proba: proba, out: bufio.NewWriter(e.stdout)}
			if format == "csv" {
				err = p.readCSV(e.stdin, header)
			} else {
				err = p.readJSON(e.stdin)
			}
			if err == nil {
				err = p.flush()
			}
			if err == nil && p.bad {
				err = errRejected // the bad lines are reported
			}
			if ferr := p.out.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	}
}

// loadStored loads a stored version's model, verifying its digest.
func loadStored(e *env, version string) (*sklearn.Model, error) {
	reg, done, err := e.openRegistry(nil)
	if err != nil {
		return nil, err
	}
	defer done()
	v, err := reg.Get(version)
	if err != nil {
		return nil, err
	}
	name := reg.Layout().ModelFile
	want, ok := v.Files[name]
	if !ok {
		return nil, fmt.Errorf("predict: %s has no %s", version, name)
	}
	f, err := storage.FS(e.ctx, reg.Store(), v.Dir()).Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	m, err := sklearn.LoadWith(e.ctx, io.TeeReader(f, h), nil)
	if err != nil {
		return nil, fmt.Errorf("predict: %s: %w", version, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return nil, fmt.Errorf("predict: %s: %w: sha256 is %s, the record says %s", name, modelpkg.ErrHashMismatch, got, want.SHA256)
	}
	return m, nil
}

type predictor struct {
	e     *env
	m     *sklearn.Model
	proba bool
	out   *bufio.Writer
	rows  [][]any
	lines []int
	bad   bool
}

func (p *predictor) add(line int, row []any) error {
	p.rows, p.lines = append(p.rows, row), append(p.lines, line)
	if len(p.rows) >= predictBatch {
		return p.flush()
	}
	return nil
}

// flush predicts the pending rows; a failing batch is retried row by row
// to name the bad lines.
func (p *predictor) flush() error {
	rows, lines := p.rows, p.lines
	p.rows, p.lines = p.rows[:0], p.lines[:0]
	if len(rows) == 0 {
		return nil
	}
	preds, probs, err := p.predict(rows)
	if err != nil {
		for i, r := range rows {
			pr, pb, err := p.predict([][]any{r})
			if err != nil {
				p.bad = true
				fmt.Fprintf(p.e.stderr, "line %d: %v\n", lines[i], err)
				p.line(map[string]any{"line": lines[i], "error": err.Error()})
				continue
			}
			p.write(pr[0], pb, 0)
		}
		return nil
	}
	for i := range preds {
		p.write(preds[i], probs, i)
	}
	return nil
}

func (p *predictor) predict(rows [][]any) ([]any, [][]float64, error) {
	preds, err := p.m.PredictRows(rows)
	if err != nil || !p.proba {
		return preds, nil, err
	}
	probs, err := p.m.PredictProbaRows(rows)
	return preds, probs, err
}

func (p *predictor) write(pred any, probs [][]float64, i int) {
	out := map[string]any{"prediction": pred}
	if probs != nil {
		out["probabilities"] = probs[i]
	}
	p.line(out)
}

// line writes v as one JSON line.
func (p *predictor) line(v any) {
	b, _ := json.Marshal(v) // plain values: cannot fail
	_, _ = p.out.Write(append(b, '\n'))
}

func (p *predictor) readJSON(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var row []any
		if err := json.Unmarshal([]byte(text), &row); err != nil {
			var named map[string]any
			if err := json.Unmarshal([]byte(text), &named); err != nil {
				return fmt.Errorf("line %d: not a JSON array or object", line)
			}
			if row, err = p.m.Row(named); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		if err := p.add(line, row); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (p *predictor) readCSV(r io.Reader, header bool) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var order []int // column of each feature, from the header
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if header && line == 1 {
			names := p.m.FeatureNames()
			if names == nil {
				continue // nothing to order by: columns are taken as they come
			}
			pos := map[string]int{}
			for i, h := range rec {
				pos[strings.TrimSpace(h)] = i
			}
			for _, n := range names {
				i, ok := pos[n]
				if !ok {
					return fmt.Errorf("line 1: %w: no column %q", sklearn.ErrUnknownFeature, n)
				}
				order = append(order, i)
			}
			continue
		}
		row := make([]any, 0, len(rec))
		cell := func(s string) any {
			s = strings.TrimSpace(s)
			if s == "" {
				return nil
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f
			}
			return s
		}
		if order != nil {
			for _, i := range order {
				if i >= len(rec) {
					return fmt.Errorf("line %d: %d columns, the header has more", line, len(rec))
				}
				row = append(row, cell(rec[i]))
			}
		} else {
			for _, s := range rec {
				row = append(row, cell(s))
			}
		}
		if err := p.add(line, row); err != nil {
			return err
		}
	}
}
