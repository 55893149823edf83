package validate_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/validate"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "pickle", "testdata", "real", name))
	require.NoError(t, err)
	return b
}

// Hand-written payloads; nothing here is ever unpickled.
var (
	osSystem    = []byte("cos\nsystem\n(S'id'\ntR.")
	customModel = []byte("\x80\x04\x8c\x05mypkg\x8c\x05Model\x93)\x81.")
)

func scanFS(t *testing.T, fsys fstest.MapFS, layout *modelpkg.Layout, opts *validate.PickleOptions) *validate.Report {
	t.Helper()
	var r validate.Report
	validate.PickleScan(opts).Validate(context.Background(), &validate.Package{FS: fsys, Layout: layout}, &r)
	return &r
}

func TestPickleScan(t *testing.T) {
	t.Run("real models pass", func(t *testing.T) {
		r := scanFS(t, fstest.MapFS{
			"model.joblib":             {Data: fixture(t, "forest_strlabels_zlib3.joblib")},
			"extra/scaler.pkl":         {Data: fixture(t, "logreg_plain.pkl")},
			"extra/forest.pickle":      {Data: fixture(t, "forest_xz.joblib")},
			"README.md":                {Data: []byte("# not a pickle")},
			"metadata.json":            {Data: []byte("{}")},
			"extra/pipeline.jbl":       {Data: fixture(t, "pipeline.joblib")},
			"extra/regressor.PKL":      {Data: fixture(t, "forest_regressor.joblib")},
			"deployment_manifest.json": {Data: []byte("{}")},
		}, nil, nil)
		assert.Empty(t, r.Findings)
		assert.True(t, r.Valid())
		assert.NoError(t, r.Err())
	})
	t.Run("unsafe model file", func(t *testing.T) {
		r := scanFS(t, fstest.MapFS{"model.joblib": {Data: osSystem}}, nil, nil)
		require.Len(t, r.Findings, 1)
		f := r.Findings[0]
		assert.Equal(t, "unsafe_model", f.Code)
		assert.Equal(t, "model.joblib", f.Path)
		assert.Equal(t, validate.SeverityError, f.Severity)
		assert.Contains(t, f.Message, `module "os", name "system"`)
		assert.ErrorIs(t, r.Err(), validate.ErrUnsafeModel)
		js, err := json.Marshal(r)
		require.NoError(t, err)
		assert.Contains(t, string(js), `"code":"unsafe_model"`)
	})
	t.Run("unsafe extra pickle next to a safe model", func(t *testing.T) {
		r := scanFS(t, fstest.MapFS{
			"model.joblib":   {Data: fixture(t, "logreg.joblib")},
			"aux/helper.pkl": {Data: osSystem},
			"aux/other.pkl":  {Data: fixture(t, "logreg.joblib")[:100]},
		}, nil, nil)
		require.Len(t, r.Findings, 2)
		assert.Equal(t, "aux/helper.pkl", r.Findings[0].Path)
		assert.Equal(t, "unsafe_model", r.Findings[0].Code)
		assert.Equal(t, "aux/other.pkl", r.Findings[1].Path)
		assert.Equal(t, "invalid_model", r.Findings[1].Code)
		assert.ErrorIs(t, r.Err(), validate.ErrUnsafeModel)
		assert.ErrorIs(t, r.Err(), validate.ErrInvalidModel)
	})
	t.Run("invalid model file", func(t *testing.T) {
		for name, data := range map[string][]byte{
			"truncated": fixture(t, "forest.joblib")[:1000],
			"trailing":  append(fixture(t, "logreg.joblib"), osSystem...),
			"empty":     {},
			"text":      []byte("hello"),
		} {
			t.Run(name, func(t *testing.T) {
				r := scanFS(t, fstest.MapFS{"model.joblib": {Data: data}}, nil, nil)
				require.Len(t, r.Findings, 1)
				assert.Equal(t, "invalid_model", r.Findings[0].Code)
				assert.ErrorIs(t, r.Err(), validate.ErrInvalidModel)
			})
		}
	})
	t.Run("host extends the allowlist", func(t *testing.T) {
		fsys := fstest.MapFS{"model.joblib": {Data: customModel}}
		r := scanFS(t, fsys, nil, nil)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "unsafe_model", r.Findings[0].Code)
		assert.Contains(t, r.Findings[0].Message, "mypkg.Model")
		r = scanFS(t, fsys, nil, &validate.PickleOptions{Allow: []validate.PickleGlobal{{Module: "mypkg", Name: "Model"}}})
		assert.Empty(t, r.Findings)
		// A module prefix allows nothing.
		r = scanFS(t, fsys, nil, &validate.PickleOptions{Allow: []validate.PickleGlobal{{Module: "mypkg", Name: ""}}})
		assert.Len(t, r.Findings, 1)
	})
	t.Run("layout model file", func(t *testing.T) {
		layout := modelpkg.DefaultLayout()
		layout.ModelFile = "weights/clf.bin"
		r := scanFS(t, fstest.MapFS{"weights/clf.bin": {Data: osSystem}}, layout, nil)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "weights/clf.bin", r.Findings[0].Path)
	})
	t.Run("missing model file is left to RequiredFiles", func(t *testing.T) {
		r := scanFS(t, fstest.MapFS{"README.md": {Data: []byte("x")}}, nil, nil)
		assert.Empty(t, r.Findings)
	})
	t.Run("pytorch checkpoints are not scanned yet", func(t *testing.T) {
		r := scanFS(t, fstest.MapFS{"model.joblib": {Data: fixture(t, "logreg.joblib")}, "net.pt": {Data: []byte("PK")}}, nil, nil)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "invalid_model", r.Findings[0].Code)
		assert.Equal(t, "net.pt", r.Findings[0].Path)
	})
	t.Run("files on disk", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.joblib"), fixture(t, "forest.joblib"), 0o600))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "x.pickle"), osSystem, 0o600))
		var r validate.Report
		validate.PickleScan(nil).Validate(context.Background(), &validate.Package{FS: os.DirFS(dir)}, &r)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "sub/x.pickle", r.Findings[0].Path)
		assert.Equal(t, "unsafe_model", r.Findings[0].Code)
	})
	t.Run("a joblib array whose data is a payload for pickle.load", func(t *testing.T) {
		// Accepted by joblib.load (the data is skipped) but pickle.load,
		// which reads .pkl files as often, runs os.system: unsafe_model.
		r := scanFS(t, fstest.MapFS{
			"model.joblib":   {Data: fixture(t, "logreg.joblib")},
			"aux/scaler.pkl": {Data: differentialPayload()},
		}, nil, nil)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "aux/scaler.pkl", r.Findings[0].Path)
		assert.Equal(t, "unsafe_model", r.Findings[0].Code)
		assert.Contains(t, r.Findings[0].Message, "pickle.load")
		assert.Contains(t, r.Findings[0].Message, "os.system")
	})
	t.Run("a resource limit is unsafe_model", func(t *testing.T) {
		// LogisticRegression whose coef_ is 8 GiB of float64 zeros.
		r := scanFS(t, fstest.MapFS{"model.joblib": {Data: hugeArray()}}, nil, nil)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "unsafe_model", r.Findings[0].Code)
		assert.Contains(t, r.Findings[0].Message, "budget")
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var r validate.Report
		validate.PickleScan(nil).Validate(ctx, &validate.Package{FS: fstest.MapFS{"model.joblib": {Data: osSystem}}}, &r)
		require.Len(t, r.Findings, 1)
		assert.Equal(t, "canceled", r.Findings[0].Code)
	})
}

// joblibModel writes, opcode by opcode, a protocol-4 LogisticRegression
// whose coef_ is a joblib array of n float64s followed by data.
func joblibModel(n uint32, data []byte) []byte {
	var b bytes.Buffer
	su := func(s string) { b.WriteByte(0x8c); b.WriteByte(byte(len(s))); b.WriteString(s) }
	sg := func(m, n string) { su(m); su(n); b.WriteByte(0x93) }
	b.Write([]byte{0x80, 4})
	sg("sklearn.linear_model._logistic", "LogisticRegression")
	b.Write([]byte{')', 0x81, '}', '('})
	su("coef_")
	sg("joblib.numpy_pickle", "NumpyArrayWrapper")
	b.Write([]byte{')', 0x81, '}', '('})
	su("subclass")
	sg("numpy", "ndarray")
	su("shape")
	b.WriteByte('J')
	_ = binary.Write(&b, binary.LittleEndian, n)
	b.WriteByte(0x85)
	su("order")
	su("C")
	su("dtype")
	sg("numpy", "dtype")
	su("f8")
	b.Write([]byte{0x89, 0x88, 0x87, 'R'})
	su("allow_mmap")
	b.Write([]byte{0x89, 'u', 'b'})
	b.Write(data)
	b.Write([]byte{'u', 'b', '.'})
	return b.Bytes()
}

func differentialPayload() []byte {
	payload := []byte("cos\nsystem\n(S'id'\ntR0")
	for len(payload)%8 != 0 {
		payload = append(payload, 'N', '0')[:len(payload)+1]
		if len(payload)%8 != 0 {
			payload = append(payload, '0')
		}
	}
	return joblibModel(uint32(len(payload)/8), payload)
}

func hugeArray() []byte { return joblibModel(1<<30, nil) }
