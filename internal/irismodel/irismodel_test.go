package irismodel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/modelvault/modelvault/internal/irismodel"
	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/validate"
)

// expected is testdata/expected.json, written by testdata/gen.py.
type expected struct {
	Versions     map[string]string `json:"versions"`
	FeatureNames []string          `json:"feature_names"`
	X            [][]float64       `json:"X"`
	Y            []string          `json:"y"`
	Models       map[string]struct {
		Classes     []string `json:"classes"`
		Accuracy    float64  `json:"accuracy"`
		Predictions []struct {
			Row   int       `json:"row"`
			X     []float64 `json:"x"`
			Label string    `json:"label"`
			Probs []float64 `json:"probs"`
		} `json:"predictions"`
	} `json:"models"`
}

func readExpected(t *testing.T) *expected {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	require.NoError(t, err)
	var e expected
	require.NoError(t, json.Unmarshal(b, &e))
	require.Len(t, e.X, 150)
	require.Len(t, e.Y, 150)
	return &e
}

func loadFile(t *testing.T, name string) *irismodel.Model {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	m, err := irismodel.Load(f)
	require.NoError(t, err)
	return m
}

func TestLoadFixtures(t *testing.T) {
	e := readExpected(t)
	// v1 and v2 are the packaged models; unicode has classes_ as a numpy
	// unicode array, binary is versicolor (1) vs virginica (2) with
	// integer labels, fitted on rows 50 to 149.
	for _, c := range []struct {
		name       string
		rows       []int // the rows the accuracy is measured on
		classes    int
		trueLabels func(row int) string
	}{
		{"v1", seq(0, 150), 3, func(i int) string { return e.Y[i] }},
		{"v2", seq(0, 150), 3, func(i int) string { return e.Y[i] }},
		{"unicode", seq(0, 150), 3, func(i int) string { return e.Y[i] }},
		{"binary", seq(50, 150), 2, func(i int) string { return map[string]string{"versicolor": "1", "virginica": "2"}[e.Y[i]] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, ok := e.Models[c.name]
			require.True(t, ok)
			m := loadFile(t, "testdata/"+c.name+".joblib")
			assert.Equal(t, want.Classes, m.Classes)
			require.Len(t, m.Classes, c.classes)
			assert.Equal(t, 4, m.NumFeatures())
			require.Len(t, m.Coef, len(m.Intercept))
			assert.Equal(t, "auto", m.MultiClass)
			assert.Equal(t, "lbfgs", m.Solver)

			t.Run("predictions", func(t *testing.T) {
				require.NotEmpty(t, want.Predictions)
				for _, p := range want.Predictions {
					require.Equal(t, e.X[p.Row], p.X)
					label, probs, err := m.Predict(p.X)
					require.NoError(t, err)
					assert.Equal(t, p.Label, label, "row %d", p.Row)
					require.Len(t, probs, len(p.Probs))
					for i := range probs {
						assert.InDelta(t, p.Probs[i], probs[i], 1e-9, "row %d class %d", p.Row, i)
					}
				}
			})
			t.Run("accuracy", func(t *testing.T) {
				correct := 0
				for _, i := range c.rows {
					label, _, err := m.Predict(e.X[i])
					require.NoError(t, err)
					if label == c.trueLabels(i) {
						correct++
					}
				}
				assert.InDelta(t, want.Accuracy, float64(correct)/float64(len(c.rows)), 1e-12)
			})
		})
	}
	assert.Less(t, e.Models["v1"].Accuracy, e.Models["v2"].Accuracy-0.05, "v1 should be visibly worse")
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestPredict(t *testing.T) {
	m := loadFile(t, "testdata/v2.joblib")
	t.Run("wrong feature count", func(t *testing.T) {
		_, _, err := m.Predict([]float64{1, 2, 3})
		require.ErrorIs(t, err, irismodel.ErrFeatureCount)
	})
	t.Run("probabilities sum to one", func(t *testing.T) {
		_, probs, err := m.Predict([]float64{100, -100, 1e6, -1e6})
		require.NoError(t, err)
		var sum float64
		for _, p := range probs {
			sum += p
		}
		assert.InDelta(t, 1, sum, 1e-12)
	})
	t.Run("inconsistent model", func(t *testing.T) {
		for _, bad := range []*irismodel.Model{
			{},
			{Classes: []string{"a", "b", "c"}, Coef: [][]float64{{1}, {2}}, Intercept: []float64{0, 0}},
			{Classes: []string{"a", "b"}, Coef: [][]float64{{1}}},
			{Classes: []string{"a", "b", "c"}, Coef: [][]float64{{1}, {2, 3}, {4}}, Intercept: []float64{0, 0, 0}},
		} {
			_, _, err := bad.Predict([]float64{1})
			require.ErrorIs(t, err, irismodel.ErrInvalidModel)
		}
	})
	t.Run("binary", func(t *testing.T) {
		// A one-row model as scikit-learn stores a binary classifier:
		// predict_proba is [1-expit(d), expit(d)] (one-vs-rest under
		// multi_class="auto") and the label is Classes[1] when d > 0.
		bin := &irismodel.Model{
			Classes: []string{"no", "yes"}, Coef: [][]float64{{2}}, Intercept: []float64{-1},
			MultiClass: "auto", Solver: "lbfgs",
		}
		label, probs, err := bin.Predict([]float64{1})
		require.NoError(t, err)
		assert.Equal(t, "yes", label)
		assert.InDelta(t, 0.7310585786300049, probs[1], 1e-15) // expit(1)
		assert.InDelta(t, 1-0.7310585786300049, probs[0], 1e-15)
		bin.MultiClass = "multinomial" // softmax of [-d, d]
		_, probs, err = bin.Predict([]float64{1})
		require.NoError(t, err)
		assert.InDelta(t, 0.8807970779778823, probs[1], 1e-15) // expit(2)
	})
}

func TestSamples(t *testing.T) {
	e := readExpected(t)
	require.Len(t, irismodel.SampleLabels, len(irismodel.Samples))
	assert.Equal(t, e.FeatureNames, irismodel.FeatureNames())
	for i, s := range irismodel.Samples {
		found := false
		for j, x := range e.X {
			if assert.ObjectsAreEqual(s, x) {
				found = true
				assert.Equal(t, e.Y[j], irismodel.SampleLabels[i], "sample %d is iris row %d", i, j)
			}
		}
		assert.True(t, found, "sample %d is not an iris row", i)
	}
	for _, name := range []string{"v1", "v2"} {
		m := loadFile(t, "testdata/"+name+".joblib")
		for i, s := range irismodel.Samples {
			label, _, err := m.Predict(s)
			require.NoError(t, err)
			assert.Equal(t, irismodel.SampleLabels[i], label, "%s sample %d", name, i)
		}
	}
}

// osSystem is pickle.dumps of a REDUCE of os.system (protocol 2): what a
// malicious model file looks like at its simplest.
var osSystem = []byte("\x80\x02cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.")

// osSystemStack is the same with protocol 4's STACK_GLOBAL.
var osSystemStack = []byte("\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94\x8c\x02ls\x94\x85\x94R\x94.")

func TestLoadRejects(t *testing.T) {
	good, err := os.ReadFile("testdata/v2.joblib")
	require.NoError(t, err)
	nested := []byte("cnumpy.core.multiarray\n_reconstruct\n")
	require.Equal(t, 1, bytes.Count(good, nested))

	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, irismodel.ErrInvalidModel},
		{"not a pickle", []byte("PK\x03\x04 this is a zip"), irismodel.ErrInvalidModel},
		{"os.system", osSystem, irismodel.ErrUnsafeGlobal},
		{"os.system via STACK_GLOBAL", osSystemStack, irismodel.ErrUnsafeGlobal},
		{"os.system in the nested pickle", bytes.Replace(good, nested, []byte("cposix\nsystem\n"), 1), irismodel.ErrUnsafeGlobal},
		{"builtins.eval", bytes.Replace(osSystem, []byte("posix\nsystem"), []byte("builtins\neval"), 1), irismodel.ErrUnsafeGlobal},
		{"not a model", []byte("\x80\x04}\x94."), irismodel.ErrInvalidModel},
		{"trailing data", append(bytes.Clone(good), 0), irismodel.ErrInvalidModel},
		{"huge string", []byte("\x80\x04\x8d\x00\x00\x00\x00\x00\x00\x00\x10"), irismodel.ErrInvalidModel},
		{"huge frame", []byte("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f}."), irismodel.ErrInvalidModel},
		{"protocol 0", []byte("(dp0\n."), irismodel.ErrInvalidModel},
		{"memo miss", []byte("\x80\x02h\x07."), irismodel.ErrInvalidModel},
		{"stack underflow", []byte("\x80\x02R."), irismodel.ErrInvalidModel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := irismodel.Load(bytes.NewReader(c.data))
			require.ErrorIs(t, err, c.want)
			assert.Nil(t, m)
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(good) {
			_, err := irismodel.Load(bytes.NewReader(good[:n]))
			require.ErrorIs(t, err, irismodel.ErrInvalidModel, "prefix of %d bytes", n)
		}
	})
	t.Run("every byte corrupted", func(t *testing.T) {
		// Some corruptions still load (a changed weight is a valid model);
		// none may panic.
		for i := range good {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				bad := bytes.Clone(good)
				bad[i] ^= x
				m, err := irismodel.Load(bytes.NewReader(bad))
				if err == nil {
					_, _, err = m.Predict(make([]float64, m.NumFeatures()))
					require.NoError(t, err)
				}
			}
		}
	})
	t.Run("too large", func(t *testing.T) {
		// Load reads at most MaxModelSize bytes; this checks the same
		// code with a small limit, as reading 64 MiB is slow under -race.
		_, err := irismodel.LoadLimited(io.MultiReader(bytes.NewReader(good), zeros{}), int64(len(good)))
		require.ErrorIs(t, err, irismodel.ErrTooLarge)
		_, err = irismodel.LoadLimited(bytes.NewReader(good), int64(len(good)))
		require.NoError(t, err)
		assert.EqualValues(t, 64<<20, irismodel.MaxModelSize)
	})
	t.Run("read error", func(t *testing.T) {
		_, err := irismodel.Load(io.MultiReader(bytes.NewReader(good[:10]), errReader{}))
		require.ErrorIs(t, err, errBroken)
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { return len(p), nil }

var errBroken = io.ErrClosedPipe

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestPackageFiles(t *testing.T) {
	e := readExpected(t)
	for _, c := range []struct {
		version, fixture string
	}{
		{"1.0", "v1"},
		{"2.0", "v2"},
		{"2.1.0", "v2"},
	} {
		t.Run(c.version, func(t *testing.T) {
			files := irismodel.PackageFiles(c.version)
			fixture, err := os.ReadFile("testdata/" + c.fixture + ".joblib")
			require.NoError(t, err)
			require.Equal(t, fixture, files["model.joblib"].Data)
			assert.NotContains(t, files, "deployment_manifest.json")

			var md struct {
				ModelType    string `json:"model_type"`
				Version      string `json:"version"`
				CreatedAt    string `json:"created_at"`
				TrainingInfo struct {
					Dataset  string   `json:"dataset"`
					Accuracy float64  `json:"accuracy"`
					Features []string `json:"features"`
				} `json:"training_info"`
			}
			require.NoError(t, json.Unmarshal(files["metadata.json"].Data, &md))
			assert.Equal(t, "LogisticRegression", md.ModelType)
			assert.Equal(t, c.version, md.Version)
			assert.NotEmpty(t, md.CreatedAt)
			assert.Equal(t, "iris", md.TrainingInfo.Dataset)
			assert.Equal(t, e.Models[c.fixture].Accuracy, md.TrainingInfo.Accuracy)
			assert.Equal(t, e.FeatureNames, md.TrainingInfo.Features)
			assert.Contains(t, string(files["requirements.txt"].Data), "scikit-learn=="+e.Versions["sklearn"])
			assert.Contains(t, string(files["requirements.txt"].Data), "joblib=="+e.Versions["joblib"])
			assert.Contains(t, string(files["requirements.txt"].Data), "numpy=="+e.Versions["numpy"])

			// The built package passes the repository's validators,
			// including the static pickle scan of the real model file.
			var buf bytes.Buffer
			ctx := context.Background()
			_, err = modelpkg.Build(ctx, &buf, files, nil)
			require.NoError(t, err)
			pkg, err := modelpkg.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
			require.NoError(t, err)
			defer pkg.Close()
			var r validate.Report
			validate.Default(nil).Validate(ctx, &validate.Package{FS: pkg, Version: c.version}, &r)
			require.True(t, r.Valid(), "report: %v", r.Err())
			assert.Empty(t, r.Warnings())

			f, err := pkg.Open("model.joblib")
			require.NoError(t, err)
			defer f.Close()
			m, err := irismodel.Load(f)
			require.NoError(t, err)
			label, _, err := m.Predict(irismodel.Samples[0])
			require.NoError(t, err)
			assert.Equal(t, irismodel.SampleLabels[0], label)
		})
	}
	t.Run("fresh copies", func(t *testing.T) {
		a := irismodel.PackageFiles("2.0")
		a["model.joblib"].Data[0] = 'x'
		b := irismodel.PackageFiles("2.0")
		assert.True(t, strings.HasPrefix(string(b["model.joblib"].Data), "\x80"))
	})
}
