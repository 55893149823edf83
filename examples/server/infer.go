package main

// Prediction endpoints: POST /predict (a simple JSON API) and the Open
// Inference Protocol (KServe v2) used by KServe, Triton and MLServer
// clients: server liveness and readiness, model metadata and readiness,
// and POST /v2/models/{name}/infer. Every request is answered by the
// model deployed when it arrived, whatever deploys happen meanwhile.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sklearn"
	"github.com/modelvault/modelvault/registry"
)

// maxBody bounds a prediction request.
const maxBody = 8 << 20

// maxRows bounds the rows of one request.
const maxRows = 100_000

// servedModel is the service's model type: the runtime's model with the
// registry's model name and version.
type servedModel struct {
	*sklearn.Model
	name, version string
}

// loadModel loads a deployed package's model.joblib, through the
// package's verifying view, with the pure-Go scikit-learn runtime.
func loadModel(ctx context.Context, pkg *registry.Package) (*servedModel, error) {
	m, err := sklearn.LoadFS(ctx, pkg.FS, modelpkg.DefaultModelFile, nil)
	if err != nil {
		return nil, err
	}
	return &servedModel{Model: m, name: pkg.Version.ModelType, version: pkg.Version.Version}, nil
}

// registerInference adds the prediction endpoints to mux.
func registerInference(mux *http.ServeMux, live *registry.Live[*servedModel], wrap func(http.HandlerFunc) http.HandlerFunc) {
	mux.HandleFunc("POST /predict", wrap(predictHandler(live)))
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, r *http.Request) {
		ready := live.Version() != ""
		writeJSON(w, readyStatus(ready), map[string]bool{"ready": ready})
	})
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"name": "modelvault", "version": "1", "extensions": []string{}})
	})
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.HandleFunc("GET "+prefix, v2Handler(live, v2Metadata))
		mux.HandleFunc("GET "+prefix+"/ready", v2Handler(live, func(w http.ResponseWriter, r *http.Request, m *servedModel) {
			writeJSON(w, http.StatusOK, map[string]any{"name": m.name, "ready": true})
		}))
		mux.HandleFunc("POST "+prefix+"/infer", wrap(v2Handler(live, v2Infer)))
	}
}

func readyStatus(ready bool) int {
	if ready {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// v2Error is the protocol's error body.
func v2Error(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// v2Handler resolves {name} (and {version}) to the served model.
func v2Handler(live *registry.Live[*servedModel], h func(http.ResponseWriter, *http.Request, *servedModel)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lease, err := live.Acquire()
		if err != nil {
			v2Error(w, http.StatusServiceUnavailable, "no model deployed: %v", err)
			return
		}
		defer lease.Release()
		m := lease.Model()
		if name := r.PathValue("name"); name != m.name {
			v2Error(w, http.StatusNotFound, "model %q is not served (serving %q)", name, m.name)
			return
		}
		if v := r.PathValue("version"); v != "" && v != m.version {
			v2Error(w, http.StatusNotFound, "version %q of %q is not served (serving %q)", v, m.name, m.version)
			return
		}
		h(w, r, m)
	}
}

// v2Tensor is a tensor of the protocol's JSON form.
type v2Tensor struct {
	Name       string         `json:"name"`
	Shape      []int          `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data"`
}

type v2Output struct {
	Name string `json:"name"`
}

type v2Request struct {
	ID      string     `json:"id,omitempty"`
	Inputs  []v2Tensor `json:"inputs"`
	Outputs []v2Output `json:"outputs,omitempty"`
}

type v2Response struct {
	ModelName    string     `json:"model_name"`
	ModelVersion string     `json:"model_version"`
	ID           string     `json:"id,omitempty"`
	Outputs      []v2Tensor `json:"outputs"`
}

func v2Metadata(w http.ResponseWriter, r *http.Request, m *servedModel) {
	in := []map[string]any{{"name": "input-0", "datatype": "FP64", "shape": []int{-1, m.NFeatures()}}}
	if names := m.FeatureNames(); names != nil {
		in = nil
		for _, n := range names {
			in = append(in, map[string]any{"name": n, "datatype": "FP64", "shape": []int{-1, 1}})
		}
	}
	out := []map[string]any{{"name": "predict", "datatype": labelType(m), "shape": []int{-1}}}
	if m.HasPredictProba() {
		out = append(out, map[string]any{"name": "predict_proba", "datatype": "FP64", "shape": []int{-1, len(m.Classes())}})
	}
	if m.HasDecisionFunction() {
		out = append(out, map[string]any{"name": "decision_function", "datatype": "FP64", "shape": []int{-1, -1}})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": m.name, "versions": []string{m.version}, "platform": "sklearn",
		"parameters": map[string]any{"model_type": m.ClassName(), "classes": m.Classes()},
		"inputs":     in, "outputs": out,
	})
}

// labelType is the datatype of predict's output.
func labelType(m *servedModel) string {
	if !m.IsClassifier() {
		return "FP64"
	}
	switch m.Classes()[0].(type) {
	case string:
		return "BYTES"
	case int64:
		return "INT64"
	case bool:
		return "BOOL"
	}
	return "FP64"
}

func v2Infer(w http.ResponseWriter, r *http.Request, m *servedModel) {
	var req v2Request
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		v2Error(w, http.StatusBadRequest, "malformed inference request: %v", err)
		return
	}
	rows, err := v2Rows(m, req.Inputs)
	if err != nil {
		v2Error(w, http.StatusBadRequest, "%v", err)
		return
	}
	outs := req.Outputs
	if len(outs) == 0 {
		outs = []v2Output{{Name: "predict"}}
	}
	resp := v2Response{ModelName: m.name, ModelVersion: m.version, ID: req.ID}
	for _, o := range outs {
		var t v2Tensor
		switch o.Name {
		case "predict":
			p, err := m.PredictRows(rows)
			if err != nil {
				v2Error(w, http.StatusBadRequest, "%v", err)
				return
			}
			t = v2Tensor{Name: o.Name, Shape: []int{len(p)}, Datatype: labelType(m), Data: p}
		case "predict_proba", "decision_function":
			f := m.PredictProbaRows
			if o.Name == "decision_function" {
				f = m.DecisionFunctionRows
			}
			p, err := f(rows)
			if errors.Is(err, sklearn.ErrNotAvailable) {
				v2Error(w, http.StatusBadRequest, "output %q: %v", o.Name, err)
				return
			}
			if err != nil {
				v2Error(w, http.StatusBadRequest, "%v", err)
				return
			}
			width := 0
			flat := make([]float64, 0, len(p)*2)
			for _, row := range p {
				width = len(row)
				flat = append(flat, row...)
			}
			t = v2Tensor{Name: o.Name, Shape: []int{len(p), width}, Datatype: "FP64", Data: flat}
		default:
			v2Error(w, http.StatusBadRequest, "unknown output %q (predict, predict_proba, decision_function)", o.Name)
			return
		}
		resp.Outputs = append(resp.Outputs, t)
	}
	writeJSON(w, http.StatusOK, resp)
}

// v2Rows turns the request's inputs into rows: one tensor of shape
// [rows, features] (or [features] for one row), or one tensor per
// feature of shape [rows] or [rows, 1] (named by the model's feature
// names when it has them, else taken in order).
func v2Rows(m *servedModel, inputs []v2Tensor) ([][]any, error) {
	n := m.NFeatures()
	if len(inputs) == 0 {
		return nil, errors.New("no inputs")
	}
	if len(inputs) == 1 && !(n == 1 && len(inputs[0].Shape) == 1) {
		in := inputs[0]
		flat, err := flatten(in)
		if err != nil {
			return nil, err
		}
		rowsN := 1
		switch len(in.Shape) {
		case 1:
			if in.Shape[0] != n {
				return nil, fmt.Errorf("%w: input %q of shape %v, the model takes %d features", sklearn.ErrFeatureCount, in.Name, in.Shape, n)
			}
		case 2:
			if in.Shape[1] != n {
				return nil, fmt.Errorf("%w: input %q of shape %v, the model takes %d features", sklearn.ErrFeatureCount, in.Name, in.Shape, n)
			}
			rowsN = in.Shape[0]
		default:
			return nil, fmt.Errorf("input %q: shape %v, want [rows, %d]", in.Name, in.Shape, n)
		}
		if rowsN < 0 || rowsN > maxRows || len(flat) != rowsN*n {
			return nil, fmt.Errorf("input %q: %d values for shape %v", in.Name, len(flat), in.Shape)
		}
		rows := make([][]any, rowsN)
		for i := range rows {
			rows[i] = flat[i*n : (i+1)*n]
		}
		return rows, nil
	}
	if len(inputs) != n {
		return nil, fmt.Errorf("%w: %d inputs, the model takes %d features", sklearn.ErrFeatureCount, len(inputs), n)
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if names := m.FeatureNames(); names != nil {
		pos := map[string]int{}
		for i, in := range inputs {
			pos[in.Name] = i
		}
		for i, name := range names {
			j, ok := pos[name]
			if !ok {
				return nil, fmt.Errorf("%w: no input named %q", sklearn.ErrUnknownFeature, name)
			}
			order[i] = j
		}
	}
	var cols [][]any
	rowsN := -1
	for _, in := range inputs {
		c, err := flatten(in)
		if err != nil {
			return nil, err
		}
		if rowsN >= 0 && len(c) != rowsN {
			return nil, fmt.Errorf("input %q has %d values, another has %d", in.Name, len(c), rowsN)
		}
		rowsN = len(c)
		cols = append(cols, c)
	}
	if rowsN > maxRows {
		return nil, fmt.Errorf("more than %d rows", maxRows)
	}
	rows := make([][]any, rowsN)
	for i := range rows {
		rows[i] = make([]any, n)
		for f, j := range order {
			rows[i][f] = cols[j][i]
		}
	}
	return rows, nil
}

// flatten returns a tensor's data in row-major order as runtime cells
// (float64, string or nil), checking them against the datatype.
func flatten(t v2Tensor) ([]any, error) {
	var out []any
	var walk func(v any, depth int) error
	walk = func(v any, depth int) error {
		if depth > 8 {
			return fmt.Errorf("input %q: data nested too deep", t.Name)
		}
		if len(out) > maxRows*1024 {
			return fmt.Errorf("input %q: too many values", t.Name)
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case json.Number:
			if t.Datatype == "BYTES" {
				return fmt.Errorf("input %q: a number in BYTES data", t.Name)
			}
			f, err := x.Float64()
			if err != nil {
				return fmt.Errorf("%w: input %q: %v", sklearn.ErrNotNumber, t.Name, err)
			}
			out = append(out, f)
		case string:
			out = append(out, x)
		case bool:
			if x {
				out = append(out, 1.0)
			} else {
				out = append(out, 0.0)
			}
		case nil:
			out = append(out, nil)
		default:
			return fmt.Errorf("input %q: unexpected %T in data", t.Name, v)
		}
		return nil
	}
	switch t.Datatype {
	case "FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8", "BOOL", "BYTES":
	default:
		return nil, fmt.Errorf("input %q: datatype %q", t.Name, t.Datatype)
	}
	if err := walk(t.Data, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// predictRequest is POST /predict's body: features as an array (numbers,
// strings for categorical columns, null for missing) or, for a model
// fitted on named columns, an object by feature name.
type predictRequest struct {
	Features json.RawMessage `json:"features"`
}

type predictResponse struct {
	Label         any       `json:"label,omitempty"`
	Prediction    any       `json:"prediction"`
	Probabilities []float64 `json:"probabilities,omitempty"`
	Classes       []any     `json:"classes,omitempty"`
	Version       string    `json:"version"`
}

// predictHandler answers with the model current when the request arrived;
// a deploy during the request does not disturb it.
func predictHandler(live *registry.Live[*servedModel]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req predictRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || len(req.Features) == 0 {
			writeError(w, r, http.StatusBadRequest, "bad_request", "body must be {\"features\": [values]} or {\"features\": {name: value}}")
			return
		}
		if err := checkFinite(req.Features); err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		lease, err := live.Acquire()
		if err != nil {
			writeError(w, r, http.StatusServiceUnavailable, "unavailable", "no model deployed: "+err.Error())
			return
		}
		defer lease.Release()
		m := lease.Model()
		var row []any
		if err := json.Unmarshal(req.Features, &row); err != nil {
			var named map[string]any
			if err := json.Unmarshal(req.Features, &named); err != nil {
				writeError(w, r, http.StatusBadRequest, "bad_request", "features must be an array or an object")
				return
			}
			if row, err = m.Row(named); err != nil {
				writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
				return
			}
		}
		p, err := m.PredictRows([][]any{row})
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		resp := predictResponse{Prediction: p[0], Version: lease.Version()}
		if m.IsClassifier() {
			resp.Label, resp.Classes = p[0], m.Classes()
			if m.HasPredictProba() {
				if pr, err := m.PredictProbaRows([][]any{row}); err == nil {
					resp.Probabilities = pr[0]
				}
				for _, p := range resp.Probabilities {
					if math.IsNaN(p) || math.IsInf(p, 0) {
						writeError(w, r, http.StatusUnprocessableEntity, "not_finite", "the model's answer for these features is not a finite number")
						return
					}
				}
			}
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// maxFeature bounds a feature's magnitude: far beyond any measurement, far
// below where a model's arithmetic overflows.
const maxFeature = 1e9

// checkFinite refuses features (an array or an object of values) holding
// a number beyond maxFeature, before any model sees them.
func checkFinite(features json.RawMessage) error {
	var v any
	if err := json.Unmarshal(features, &v); err != nil {
		return errors.New("features must be an array or an object")
	}
	var vals []any
	switch v := v.(type) {
	case []any:
		vals = v
	case map[string]any:
		for _, x := range v {
			vals = append(vals, x)
		}
	}
	for i, x := range vals {
		if f, ok := x.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxFeature) {
			return fmt.Errorf("feature %d is not a finite number of magnitude at most %g", i, maxFeature)
		}
	}
	return nil
}
