package irispkg

import (
	_ "embed"
	"encoding/json"
	"testing/fstest"
)

var (
	//go:embed testdata/v1.joblib
	v1Joblib []byte
	//go:embed testdata/v2.joblib
	v2Joblib []byte
)

// FeatureNames returns the names of the four iris features, in the order
// Predict takes them (all in centimetres), as scikit-learn spells them.
func FeatureNames() []string {
	return []string{"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"}
}

// Samples are a few rows of the iris data set for demos; both packaged
// models predict SampleLabels for them.
var Samples = [][]float64{
	{5.1, 3.5, 1.4, 0.2},
	{5.0, 3.0, 1.6, 0.2},
	{5.0, 2.0, 3.5, 1.0},
	{5.5, 2.4, 3.8, 1.1},
	{6.3, 3.3, 6.0, 2.5},
	{6.3, 2.8, 5.1, 1.5},
}

// SampleLabels are the iris species of Samples, row by row.
var SampleLabels = []string{"setosa", "setosa", "versicolor", "versicolor", "virginica", "virginica"}

// modelInfo describes one packaged model; the accuracies are those
// testdata/gen.py measured on the full iris set.
type modelInfo struct {
	joblib    []byte
	accuracy  float64
	c         float64
	createdAt string
}

func infoFor(version string) modelInfo {
	if version == "1.0" {
		return modelInfo{joblib: v1Joblib, accuracy: 0.8733333333333333, c: 0.01, createdAt: "2026-01-05T09:00:00"}
	}
	return modelInfo{joblib: v2Joblib, accuracy: 0.9733333333333334, c: 1.0, createdAt: "2026-02-02T09:00:00"}
}

// PackageFiles returns the files of a complete model package for
// version: model.joblib, metadata.json, validate_model.py,
// inference_example.py, requirements.txt and README.md, ready for
// modelpkg.Build (which adds deployment_manifest.json). Version "1.0"
// holds the strongly regularised v1 model (87.3% accuracy on iris); any
// other version holds v2 (97.3%). Each call returns fresh files that the
// caller may modify; the output is the same for the same version.
func PackageFiles(version string) fstest.MapFS {
	info := infoFor(version)
	md := map[string]any{
		"model_type": "LogisticRegression",
		"version":    version,
		"created_at": info.createdAt,
		"training_info": map[string]any{
			"dataset":  "iris",
			"accuracy": info.accuracy,
			"features": FeatureNames(),
			"classes":  []string{"setosa", "versicolor", "virginica"},
			"params":   map[string]any{"C": info.c, "max_iter": 1000, "solver": "lbfgs"},
			"framework": map[string]string{
				"scikit-learn": "1.2.1",
				"joblib":       "1.2.0",
				"numpy":        "1.24.2",
			},
		},
	}
	mdJSON, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		panic(err) // unreachable: the value is built from plain types
	}
	file := func(b []byte) *fstest.MapFile {
		return &fstest.MapFile{Data: b, Mode: 0o644}
	}
	return fstest.MapFS{
		"model.joblib":         file(append([]byte(nil), info.joblib...)),
		"metadata.json":        file(append(mdJSON, '\n')),
		"validate_model.py":    file([]byte(validateScript)),
		"inference_example.py": file([]byte(inferenceScript)),
		"requirements.txt":     file([]byte(requirements)),
		"README.md":            file([]byte("# Iris classifier " + version + "\n\n" + readmeBody)),
	}
}

const requirements = `scikit-learn==1.2.1
joblib==1.2.0
numpy==1.24.2
`

const validateScript = `"""Validate model.joblib: load it and check it classifies iris rows."""

import json
import sys

import joblib
import numpy as np

SAMPLES = np.array([
    [5.1, 3.5, 1.4, 0.2],
    [5.0, 2.0, 3.5, 1.0],
    [6.3, 3.3, 6.0, 2.5],
])
EXPECTED = ["setosa", "versicolor", "virginica"]


def main():
    model = joblib.load("model.joblib")
    with open("metadata.json") as f:
        metadata = json.load(f)
    if type(model).__name__ != metadata["model_type"]:
        sys.exit(f"model is a {type(model).__name__}, metadata says {metadata['model_type']}")
    got = [str(label) for label in model.predict(SAMPLES)]
    if got != EXPECTED:
        sys.exit(f"predictions {got}, want {EXPECTED}")
    probs = model.predict_proba(SAMPLES)
    if not np.allclose(probs.sum(axis=1), 1.0):
        sys.exit("probabilities do not sum to 1")
    print("model OK:", metadata["version"])


if __name__ == "__main__":
    main()
`

const inferenceScript = `"""Classify an iris flower with model.joblib.

Usage: python inference_example.py SEPAL_LENGTH SEPAL_WIDTH PETAL_LENGTH PETAL_WIDTH
"""

import sys

import joblib
import numpy as np


def main():
    model = joblib.load("model.joblib")
    row = [float(v) for v in sys.argv[1:5]] or [5.1, 3.5, 1.4, 0.2]
    x = np.array([row])
    label = model.predict(x)[0]
    probs = model.predict_proba(x)[0]
    print("prediction:", label)
    for cls, p in zip(model.classes_, probs):
        print(f"  {cls}: {p:.3f}")


if __name__ == "__main__":
    main()
`

const readmeBody = `A scikit-learn LogisticRegression trained on the iris data set (150
flowers, 4 features: sepal length, sepal width, petal length and petal
width, in cm) to predict the species: setosa, versicolor or virginica.

Files:

- model.joblib: the estimator, saved with joblib.dump.
- metadata.json: model type, version, creation time and training info.
- validate_model.py: loads the model and checks a few predictions.
- inference_example.py: classifies one flower given on the command line.
- requirements.txt: the library versions the model was saved with.

    pip install -r requirements.txt
    python validate_model.py
    python inference_example.py 5.1 3.5 1.4 0.2
`
