#!/usr/bin/python3
"""Generate the irispkg fixtures: v1.joblib, v2.joblib and expected.json.

Run from this directory with Debian's interpreter:

    /usr/bin/python3 gen.py

Both models are scikit-learn LogisticRegression classifiers fitted on the
iris data set bundled with scikit-learn (no download). Labels are the iris
target names as an object array, so classes_ is an object-dtype ndarray,
which joblib stores as a nested pickle.
"""

import json
import platform

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

# Rows whose predictions are recorded in expected.json: a few of each
# species, including rows where the weaker v1 model is wrong.
SAMPLE_ROWS = [0, 25, 49, 50, 60, 70, 80, 83, 100, 106, 119, 133, 149]

MODELS = {
    # Strong regularisation: visibly lower accuracy than v2.
    "v1": dict(C=0.01, max_iter=1000),
    "v2": dict(C=1.0, max_iter=1000),
}


def main():
    iris = load_iris()
    X = iris.data
    y = iris.target_names[iris.target].astype(object)
    out = {
        "versions": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "joblib": joblib.__version__,
            "numpy": np.__version__,
        },
        "feature_names": list(iris.feature_names),
        "X": X.tolist(),
        "y": [str(v) for v in y],
        "models": {},
    }
    for name, params in MODELS.items():
        model = LogisticRegression(**params).fit(X, y)
        assert model.classes_.dtype == object, model.classes_.dtype
        joblib.dump(model, f"{name}.joblib")
        # Check the saved file round-trips before recording anything.
        loaded = joblib.load(f"{name}.joblib")
        assert np.array_equal(loaded.coef_, model.coef_)
        rows = X[SAMPLE_ROWS]
        out["models"][name] = {
            "params": params,
            "classes": [str(c) for c in model.classes_],
            "accuracy": float(model.score(X, y)),
            "predictions": [
                {"row": r, "x": x.tolist(), "label": str(lbl), "probs": p.tolist()}
                for r, x, lbl, p in zip(
                    SAMPLE_ROWS, rows, model.predict(rows), model.predict_proba(rows)
                )
            ],
        }
        print(name, params, "accuracy", out["models"][name]["accuracy"])
    # Extra fixtures for the other label encodings and the binary case:
    # classes_ as a numpy unicode array, and a binary model with integer
    # labels (versicolor=1 vs virginica=2). Not packaged.
    extras = {
        "unicode": (X, iris.target_names[iris.target], list(range(150))),
        "binary": (X[50:], iris.target[50:], list(range(50, 150))),
    }
    for name, (Xe, ye, idx) in extras.items():
        model = LogisticRegression(max_iter=1000).fit(Xe, ye)
        joblib.dump(model, f"{name}.joblib")
        rows = X[SAMPLE_ROWS[3:]]
        out["models"][name] = {
            "params": {"max_iter": 1000},
            "classes": [str(c) for c in model.classes_],
            "accuracy": float(model.score(Xe, ye)),
            "predictions": [
                {"row": r, "x": x.tolist(), "label": str(lbl), "probs": p.tolist()}
                for r, x, lbl, p in zip(
                    SAMPLE_ROWS[3:], rows, model.predict(rows), model.predict_proba(rows)
                )
            ],
        }
        print(name, "classes", model.classes_.dtype, "accuracy", out["models"][name]["accuracy"])
    with open("expected.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
