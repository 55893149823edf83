#!/usr/bin/python3
"""Generate the modelpkg/sklearn fixtures: NAME.joblib and NAME.json.

Run from this directory with Debian's interpreter (python3-sklearn 1.2.x):

    /usr/bin/python3 gen.py

Every estimator of the runtime's coverage list is fitted on a data set
bundled with scikit-learn (iris, wine, breast_cancer, diabetes, digits; no
download), with a fixed random_state, and saved with joblib.dump
(uncompressed unless the name says otherwise). NAME.json records what
scikit-learn itself answers on a fixed set of rows: predict, predict_proba
and decision_function where the estimator has them, classes, n_features and
feature names. Floats are written with repr, so they round-trip exactly;
a missing value (NaN) in X is written as null.

Rows: a deterministic sample of the data set plus the same rows with a
little noise, so that features are not float32-exact and the trees'
float32 comparisons are exercised.

Feature names: pandas is not installed, so feature_names_in_ is produced by
fitting on a numpy array subclass with a `columns` attribute (scikit-learn
reads the names from `X.columns`, exactly as for a DataFrame). Estimators
whose columns are selected by name (ColumnTransformer with str columns)
need pandas and are fitted with integer column indices instead.

Newer node layout: scikit-learn >= 1.3 adds `missing_go_to_left` (uint8) to
the tree node dtype (itemsize 64). tree_node_1_3.joblib is a
DecisionTreeClassifier whose Tree is re-pickled with that layout, built
here by giving the Tree a __reduce__ that returns the same class and state
with the extra field; scikit-learn 1.2 cannot load it, so its expected
outputs are those of the original tree (the field does not change
predictions on rows without missing values).

Multi-output estimators (a 2-D y) record n_outputs, one list of labels or
values per row in predict and, for classifiers, classes_outputs and
predict_proba_outputs (one entry per output, as scikit-learn's lists).

The output is deterministic: rerunning with the same library versions
reproduces every file byte for byte (BLAS is limited to one thread).
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import warnings  # noqa: E402

import joblib  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import MissingIndicator, SimpleImputer  # noqa: E402
from sklearn.linear_model import (  # noqa: E402
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Perceptron,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import (  # noqa: E402
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402
from sklearn.tree._tree import Tree  # noqa: E402

warnings.filterwarnings("ignore")

N_SAMPLE = 24  # rows taken from the data set; as many noisy copies follow


class Named(np.ndarray):
    """A numpy array with DataFrame-like column names (see the docstring)."""

    columns = None


def named(X, names):
    a = np.asarray(X).view(Named)
    a.columns = list(names)
    return a


def load(name):
    d = getattr(datasets, "load_" + name)()
    return d.data.astype(np.float64), d.target, list(d.feature_names)


def sample_rows(X, seed):
    rng = np.random.RandomState(seed)
    idx = np.linspace(0, len(X) - 1, N_SAMPLE).astype(int)
    base = X[idx]
    scale = X.std(axis=0) * 0.05 + 1e-12
    noisy = base + rng.normal(size=base.shape) * scale
    return np.vstack([base, noisy])


def cell(v):
    if isinstance(v, str):
        return v
    f = float(v)
    if f != f:
        return None
    return f


def label(v):
    if isinstance(v, (str, np.str_)):
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    return float(v)


def floats(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return [float(x) for x in a]
    return [floats(r) for r in a]


def record(name, model, X, note, rows_X=None, feature_names=None):
    """Dump model and write what scikit-learn predicts on X."""
    path = name + ".joblib"
    joblib.dump(model, path)
    loaded = joblib.load(path)
    Xp = X if rows_X is None else rows_X
    out = {
        "class": type(model).__name__,
        "note": note,
        "n_features": int(getattr(model, "n_features_in_", np.shape(X)[1])),
        "X": [[cell(v) for v in row] for row in Xp],
        "predict": [label(v) if not isinstance(v, np.ndarray) else [label(e) for e in v]
                    for v in loaded.predict(Xp)],
    }
    if np.ndim(loaded.predict(Xp[:1])) == 2:
        out["n_outputs"] = int(np.shape(loaded.predict(Xp[:1]))[1])
    if isinstance(getattr(loaded, "classes_", None), list):
        # A multi-output classifier: one array of classes per output.
        out["classes_outputs"] = [[label(c) for c in cs] for cs in loaded.classes_]
    elif hasattr(loaded, "classes_"):
        out["classes"] = [label(c) for c in loaded.classes_]
    names = getattr(loaded, "feature_names_in_", None)
    if names is not None:
        out["feature_names"] = [str(n) for n in names]
    for meth in ("predict_proba", "decision_function"):
        if hasattr(loaded, meth):
            try:
                res = getattr(loaded, meth)(Xp)
            except AttributeError:
                continue
            if isinstance(res, list):
                # A multi-output classifier: one matrix per output.
                out[meth + "_outputs"] = [floats(r) for r in res]
            else:
                out[meth] = floats(res)
    if rows_X is None:
        assert np.array_equal(np.asarray(model.predict(X), dtype=object),
                              np.asarray(loaded.predict(X), dtype=object))
    write_json(name + ".json", out)
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


class ReducedTree:
    """Pickles as sklearn.tree._tree.Tree with the >= 1.3 node layout."""

    def __init__(self, tree):
        self.tree = tree

    def __reduce__(self):
        cls, args, state = self.tree.__reduce__()
        old = state["nodes"]
        names = list(old.dtype.names) + ["missing_go_to_left"]
        formats = [old.dtype.fields[n][0] for n in old.dtype.names] + [np.uint8]
        offsets = [old.dtype.fields[n][1] for n in old.dtype.names] + [old.dtype.itemsize]
        dt = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": 64})
        nodes = np.zeros(old.shape, dtype=dt)
        for n in old.dtype.names:
            nodes[n] = old[n]
        nodes["missing_go_to_left"] = 1
        state = dict(state)
        state["nodes"] = nodes
        return cls, args, state


def main():
    assert sklearn.__version__.startswith("1.2"), sklearn.__version__
    iris_X, iris_y, iris_names = load("iris")
    iris_labels = datasets.load_iris().target_names[iris_y]  # str labels
    wine_X, wine_y, _ = load("wine")
    bc_X, bc_y, _ = load("breast_cancer")
    dia_X, dia_y, _ = load("diabetes")
    dig_X, dig_y, _ = load("digits")
    iris_S = sample_rows(iris_X, 1)
    wine_S = sample_rows(wine_X, 2)
    bc_S = sample_rows(bc_X, 3)
    dia_S = sample_rows(dia_X, 4)
    dig_S = sample_rows(dig_X, 5)
    bc_scaled = StandardScaler().fit(bc_X)

    fixtures = []

    def fit(name, model, X, y, S, note, **kw):
        model.fit(X, y)
        record(name, model, S, note, **kw)
        fixtures.append(name)

    # Linear models.
    fit("linear_regression", LinearRegression(), dia_X, dia_y, dia_S, "diabetes")
    fit("ridge", Ridge(alpha=0.5), dia_X, dia_y, dia_S, "diabetes")
    fit("ridge_classifier", RidgeClassifier(), iris_X, iris_labels, iris_S, "iris, str labels")
    fit("ridge_classifier_binary", RidgeClassifier(), bc_X, bc_y, bc_S, "breast_cancer")
    fit("lasso", Lasso(alpha=0.1), dia_X, dia_y, dia_S, "diabetes")
    fit("elastic_net", ElasticNet(alpha=0.01, l1_ratio=0.3), dia_X, dia_y, dia_S, "diabetes")
    dia_Y2 = np.c_[dia_y, dia_X[:, 2] * 300 - dia_y]  # two targets
    fit("linear_regression_multioutput", LinearRegression(), dia_X, dia_Y2, dia_S, "diabetes, two targets")
    fit("ridge_multioutput", Ridge(alpha=0.5), dia_X, dia_Y2, dia_S, "diabetes, two targets")
    fit("logistic_multinomial", LogisticRegression(max_iter=2000), iris_X, iris_labels, iris_S,
        "iris, str labels")
    fit("logistic_ovr", LogisticRegression(multi_class="ovr", max_iter=2000), wine_X, wine_y, wine_S,
        "wine")
    fit("logistic_binary", LogisticRegression(max_iter=5000), bc_X, bc_y, bc_S, "breast_cancer")
    fit("sgd_classifier", SGDClassifier(random_state=0, max_iter=50, tol=None),
        bc_scaled.transform(bc_X), bc_y, bc_scaled.transform(bc_S), "breast_cancer, standardised")
    fit("sgd_classifier_log", SGDClassifier(loss="log_loss", random_state=0, max_iter=50, tol=None),
        iris_X, iris_y, iris_S, "iris, log loss (OvR probabilities)")
    fit("sgd_regressor", SGDRegressor(random_state=0, max_iter=50, tol=None), dia_X, dia_y, dia_S,
        "diabetes")
    fit("linear_svc", LinearSVC(random_state=0, max_iter=5000), iris_X, iris_y, iris_S, "iris")
    fit("linear_svr", LinearSVR(random_state=0, max_iter=5000), dia_X, dia_y, dia_S, "diabetes")
    fit("perceptron", Perceptron(random_state=0), iris_X, iris_y, iris_S, "iris")

    # Trees and ensembles.
    fit("decision_tree_classifier", DecisionTreeClassifier(random_state=0), iris_X, iris_labels,
        iris_S, "iris, str labels")
    fit("decision_tree_regressor", DecisionTreeRegressor(random_state=0, max_depth=6), dia_X, dia_y,
        dia_S, "diabetes")
    fit("random_forest_classifier", RandomForestClassifier(n_estimators=10, random_state=0),
        wine_X, wine_y, wine_S, "wine")
    fit("random_forest_regressor", RandomForestRegressor(n_estimators=10, max_depth=8,
                                                         random_state=0),
        dia_X, dia_y, dia_S, "diabetes")
    fit("extra_trees_classifier", ExtraTreesClassifier(n_estimators=10, random_state=0),
        iris_X, iris_y, iris_S, "iris")
    fit("extra_trees_regressor", ExtraTreesRegressor(n_estimators=10, max_depth=8, random_state=0),
        dia_X, dia_y, dia_S, "diabetes")
    fit("gradient_boosting_classifier", GradientBoostingClassifier(n_estimators=20, random_state=0),
        iris_X, iris_y, iris_S, "iris, multinomial deviance")
    fit("gradient_boosting_binary", GradientBoostingClassifier(n_estimators=20, random_state=0),
        bc_X, bc_y, bc_S, "breast_cancer")
    fit("gradient_boosting_exponential",
        GradientBoostingClassifier(loss="exponential", n_estimators=20, random_state=0),
        bc_X, bc_y, bc_S, "breast_cancer, exponential loss (AdaBoost)")
    fit("gradient_boosting_regressor", GradientBoostingRegressor(n_estimators=30, random_state=0),
        dia_X, dia_y, dia_S, "diabetes")
    fit("hist_gradient_boosting_classifier",
        HistGradientBoostingClassifier(max_iter=15, random_state=0), iris_X, iris_y, iris_S,
        "iris, multiclass")
    fit("hist_gradient_boosting_binary", HistGradientBoostingClassifier(max_iter=20, random_state=0),
        bc_X, bc_y, bc_S, "breast_cancer")
    dia_nan = dia_X.copy()
    rng = np.random.RandomState(6)
    dia_nan[rng.rand(*dia_nan.shape) < 0.1] = np.nan
    dia_S_nan = dia_S.copy()
    dia_S_nan[rng.rand(*dia_S_nan.shape) < 0.15] = np.nan
    fit("hist_gradient_boosting_regressor",
        HistGradientBoostingRegressor(max_iter=25, random_state=0), dia_nan, dia_y, dia_S_nan,
        "diabetes with 10% missing values (NaN)")

    # The benchmark's 100-tree forest (BENCHMARKS.md).
    fit("random_forest_100", RandomForestClassifier(n_estimators=100, random_state=0), bc_X, bc_y,
        bc_S, "breast_cancer, 100 trees (benchmark)")

    # Others.
    fit("kneighbors_classifier", KNeighborsClassifier(n_neighbors=5), iris_X, iris_y, iris_S, "iris")
    fit("kneighbors_regressor", KNeighborsRegressor(n_neighbors=4, weights="distance"), dia_X, dia_y,
        dia_S, "diabetes, distance weights")
    fit("gaussian_nb", GaussianNB(), dig_X, dig_y, dig_S, "digits")
    for kernel in ("linear", "rbf", "poly", "sigmoid"):
        fit("svc_" + kernel, SVC(kernel=kernel, gamma="scale" if kernel != "sigmoid" else 0.01),
            bc_scaled.transform(bc_X)[:, :8] if kernel == "sigmoid" else iris_X,
            bc_y if kernel == "sigmoid" else iris_y,
            bc_scaled.transform(bc_S)[:, :8] if kernel == "sigmoid" else iris_S,
            "iris" if kernel != "sigmoid" else "breast_cancer, standardised, 8 features")
    fit("svr", SVR(C=50.0), dia_X, dia_y, dia_S, "diabetes, rbf")
    fit("mlp_classifier", MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0),
        iris_X, iris_labels, iris_S, "iris, str labels")
    fit("mlp_regressor", MLPRegressor(hidden_layer_sizes=(16, 8), activation="tanh", max_iter=500,
                                      random_state=0),
        dia_X, dia_y, dia_S, "diabetes, tanh")

    # Preprocessing and composition.
    fit("pipeline_standard_logistic", make_pipeline(StandardScaler(), LogisticRegression()),
        bc_X, bc_y, bc_S, "breast_cancer")
    fit("pipeline_minmax_ridge", make_pipeline(MinMaxScaler(), Ridge()), dia_X, dia_y, dia_S,
        "diabetes")
    fit("pipeline_maxabs_svc", make_pipeline(MaxAbsScaler(), SVC()), wine_X, wine_y, wine_S, "wine")
    fit("pipeline_robust_knn", make_pipeline(RobustScaler(), KNeighborsClassifier()), wine_X, wine_y,
        wine_S, "wine")
    fit("pipeline_imputer_hgb_free",
        Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()),
                  ("model", LinearRegression())]),
        dia_nan, dia_y, dia_S_nan, "diabetes with missing values, median imputation")
    fit("pipeline_poly_ridge", make_pipeline(PolynomialFeatures(degree=2), Ridge()), iris_X[:, :3],
        iris_X[:, 3], iris_S[:, :3], "iris: petal width from three features")
    fit("pipeline_pca_logistic", make_pipeline(StandardScaler(), PCA(n_components=5),
                                               LogisticRegression(max_iter=1000)),
        wine_X, wine_y, wine_S, "wine")
    fit("pipeline_pca_whiten_gnb", make_pipeline(PCA(n_components=10, whiten=True, svd_solver="full"), GaussianNB()),
        dig_X, dig_y, dig_S, "digits")

    # Categorical input: iris with a string column (petal length binned).
    def with_category(X):
        bins = np.array(["short", "medium", "long"], dtype=object)
        cat = bins[np.digitize(X[:, 2], [2.5, 5.0])]
        out = np.empty((len(X), 5), dtype=object)
        out[:, :4] = X
        out[:, 4] = cat
        return out

    iris_C = with_category(iris_X)
    iris_CS = with_category(iris_S)
    iris_CS[-1, 4] = "short"
    fit("onehot_string",
        make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1000)),
        iris_C[:, 4:], iris_y, iris_CS[:, 4:], "iris: one str column, handle_unknown=ignore")
    fit("onehot_numeric", make_pipeline(OneHotEncoder(), LogisticRegression(max_iter=1000)),
        np.digitize(iris_X, [2.0, 4.0]).astype(np.float64), iris_y,
        np.digitize(iris_S, [2.0, 4.0]).astype(np.float64), "iris binned, numeric categories")
    fit("column_transformer",
        make_pipeline(ColumnTransformer([("num", StandardScaler(), [0, 1, 3]),
                                         ("cat", OneHotEncoder(), [4])],
                                        remainder="drop"),
                      LogisticRegression(max_iter=1000)),
        iris_C, iris_y, iris_CS, "iris with a str column; numeric columns scaled, one dropped")
    fit("column_transformer_passthrough",
        make_pipeline(ColumnTransformer([("cat", OneHotEncoder(drop="first"), [4])],
                                        remainder="passthrough"),
                      DecisionTreeClassifier(random_state=0)),
        iris_C, iris_y, iris_CS, "iris with a str column; remainder passthrough, drop=first")

    iris_CN = iris_C.copy()
    iris_CN[::7, 1] = np.nan
    iris_CSN = iris_CS.copy()
    iris_CSN[::5, 1] = np.nan
    fit("column_transformer_nested",
        make_pipeline(ColumnTransformer([("num", make_pipeline(SimpleImputer(), StandardScaler()),
                                          [0, 1, 2, 3]),
                                         ("cat", OneHotEncoder(sparse_output=False), [4])]),
                      GradientBoostingClassifier(n_estimators=10, random_state=0)),
        iris_CN, iris_y, iris_CSN, "iris with a str column and missing values; a Pipeline in a "
        "ColumnTransformer")

    # Coverage added later (issue #13's remainder): SVC with probability=True,
    # HistGradientBoosting with categorical features, SimpleImputer with
    # add_indicator (MissingIndicator), OneHotEncoder with infrequent
    # categories, and multi-output estimators.
    fit("svc_probability", SVC(probability=True, random_state=0), iris_X, iris_labels, iris_S,
        "iris, str labels, probability=True (Platt scaling, pairwise coupling)")
    fit("svc_probability_binary", SVC(kernel="poly", degree=2, probability=True, random_state=0),
        bc_scaled.transform(bc_X)[:, :8], bc_y, bc_scaled.transform(bc_S)[:, :8],
        "breast_cancer, standardised, 8 features, poly kernel, probability=True")

    # A categorical column: bmi in 8 quantile bins, labelled in a shuffled
    # order so that only a categorical split can use it. The rows add
    # values scikit-learn treats specially: negative (missing), unknown
    # categories, NaN, and non-integers (cast to uint8).
    def with_bins(X, col, n, seed, ref):
        perm = np.random.RandomState(seed).permutation(n)
        edges = np.quantile(ref[:, col], np.linspace(0, 1, n + 1)[1:-1])
        return np.c_[perm[np.digitize(X[:, col], edges)].astype(np.float64), X]

    dia_cat = with_bins(dia_X, 2, 8, 7, dia_X)
    dia_cat_S = with_bins(dia_S, 2, 8, 7, dia_X)
    dia_cat_S[:, 0] = np.where(np.arange(len(dia_cat_S)) % 2 == 1,
                               dia_cat_S[:, 0] + 0.4, dia_cat_S[:, 0])
    special = [-1.0, -0.5, 8.0, 9.0, np.nan, 258.0, 300.0, 2.0 ** 31, 65541.0, 7.9]
    dia_cat_S[-len(special):, 0] = special
    fit("hist_gradient_boosting_categorical",
        HistGradientBoostingRegressor(max_iter=20, categorical_features=[0], random_state=0),
        dia_cat, dia_y, dia_cat_S,
        "diabetes with bmi as an 8-category column (shuffled labels); rows with negative, "
        "unknown, missing and non-integer categories")
    def wine_bins(X):
        return np.c_[with_bins(X, 0, 6, 8, wine_X)[:, :1], with_bins(X, 6, 12, 9, wine_X)[:, :1],
                     np.delete(X, [0, 6], axis=1)]

    wine_cat, wine_cat_S = wine_bins(wine_X), wine_bins(wine_S)
    wine_cat_S[-4:, 1] = [np.nan, 12.0, -3.0, 11.0]
    fit("hist_gradient_boosting_categorical_classifier",
        HistGradientBoostingClassifier(max_iter=10, categorical_features=[True, True] + [False] * 11,
                                       random_state=0),
        wine_cat, wine_y, wine_cat_S, "wine with two categorical columns (6 and 12 categories)")

    bc_nan = bc_X[:, :10].copy()
    rng = np.random.RandomState(10)
    bc_nan[:, [1, 4, 7]] = np.where(rng.rand(len(bc_nan), 3) < 0.1, np.nan, bc_nan[:, [1, 4, 7]])
    bc_nan_S = bc_S[:, :10].copy()
    bc_nan_S[::3, 1] = np.nan
    bc_nan_S[1::4, 7] = np.nan
    bc_nan_S[2::5, 0] = np.nan  # a column without missing values at fit time
    fit("imputer_indicator",
        make_pipeline(SimpleImputer(add_indicator=True), StandardScaler(),
                      LogisticRegression(max_iter=2000)),
        bc_nan, bc_y, bc_nan_S,
        "breast_cancer, 10 features, 3 with missing values; SimpleImputer(add_indicator=True)")
    fit("missing_indicator",
        make_pipeline(ColumnTransformer([("impute", SimpleImputer(strategy="median"), list(range(10))),
                                         ("flags", MissingIndicator(features="all"), [0, 1, 7])]),
                      DecisionTreeClassifier(random_state=0, max_depth=5)),
        bc_nan, bc_y, bc_nan_S, "breast_cancer, 10 features; MissingIndicator(features='all') "
        "in a ColumnTransformer")

    # MissingIndicator with its defaults (features="missing-only",
    # error_on_new=True) on a column without missing values at fit time:
    # the rows keep that column complete (scikit-learn raises otherwise).
    bc_nan_S0 = bc_nan_S.copy()
    bc_nan_S0[:, 0] = bc_S[:, 0]
    fit("missing_indicator_only",
        make_pipeline(ColumnTransformer([("impute", SimpleImputer(), list(range(10))),
                                         ("flags", MissingIndicator(), [0, 1, 7])]),
                      LogisticRegression(max_iter=3000)),
        bc_nan, bc_y, bc_nan_S0, "breast_cancer, 10 features; MissingIndicator() of columns 0 "
        "(complete at fit time), 1 and 7")
    bc_neg = np.where(np.isnan(bc_nan), -1.0, bc_nan)
    bc_neg_S = np.where(np.isnan(bc_nan_S0), -1.0, bc_nan_S0)
    fit("imputer_indicator_numeric",
        make_pipeline(SimpleImputer(missing_values=-1.0, strategy="median", add_indicator=True),
                      DecisionTreeClassifier(random_state=0, max_depth=5)),
        bc_neg, bc_y, bc_neg_S, "breast_cancer, 10 features, missing values written as -1")

    # Infrequent categories: iris with a str column of 7 petal-length bins,
    # some rare, and a numeric one.
    def with_rare(X):
        names = np.array(["tiny", "short", "mid", "long", "huge", "odd", "rare"], dtype=object)
        cat = names[np.digitize(X[:, 2], [1.2, 1.9, 3.5, 5.0, 6.2, 6.6])]
        num = np.digitize(X[:, 3], [0.3, 1.0, 1.7, 2.3]).astype(np.float64)
        out = np.empty((len(X), 2), dtype=object)
        out[:, 0], out[:, 1] = cat, num
        return out

    iris_R, iris_RS = with_rare(iris_X), with_rare(iris_S)
    iris_RS[-3:, 0] = ["unseen", "rare", "tiny"]
    iris_RS[-2, 1] = 7.0
    fit("onehot_infrequent",
        make_pipeline(OneHotEncoder(min_frequency=10, handle_unknown="infrequent_if_exist"),
                      LogisticRegression(max_iter=1000)),
        iris_R, iris_y, iris_RS,
        "iris, a str and a numeric column; min_frequency=10, handle_unknown=infrequent_if_exist")
    fit("onehot_max_categories",
        make_pipeline(OneHotEncoder(max_categories=3, handle_unknown="ignore", drop="first"),
                      LogisticRegression(max_iter=1000)),
        iris_R, iris_y, iris_RS, "iris, a str and a numeric column; max_categories=3, "
        "handle_unknown=ignore, drop=first")

    # Multi-output: a 2-D y.
    dia_Y = np.c_[dia_y, dia_X[:, 3] * 1000.0]
    fit("decision_tree_regressor_multi", DecisionTreeRegressor(random_state=0, max_depth=6),
        dia_X, dia_Y, dia_S, "diabetes, two outputs (target, bp x 1000)")
    fit("random_forest_regressor_multi",
        RandomForestRegressor(n_estimators=10, max_depth=8, random_state=0), dia_X, dia_Y, dia_S,
        "diabetes, two outputs")
    width_bin = np.digitize(iris_X[:, 1], [2.8, 3.2, 3.6])
    iris_Ys = np.c_[iris_labels, np.array(["narrow", "normal", "wide", "xwide"])[width_bin]]
    iris_Yi = np.c_[iris_y, width_bin]
    fit("decision_tree_classifier_multi", DecisionTreeClassifier(random_state=0, max_depth=4),
        iris_X[:, [0, 2, 3]], iris_Ys, iris_S[:, [0, 2, 3]],
        "iris without sepal width; outputs: species, sepal width bin (str labels)")
    fit("extra_trees_classifier_multi", ExtraTreesClassifier(n_estimators=10, random_state=0),
        iris_X[:, [0, 2, 3]], iris_Yi, iris_S[:, [0, 2, 3]], "iris, two outputs (int labels)")
    # The same forest with one tree of wider class values (max_n_classes 6
    # instead of 4, zero-padded): each tree is read with its own stride.
    padded = joblib.load("extra_trees_classifier_multi.joblib")
    old = padded.estimators_[0].tree_
    state = dict(old.__getstate__())
    wide = Tree(old.n_features, np.array([3, 6], dtype=np.intp), old.n_outputs)
    values = np.zeros((state["node_count"], old.n_outputs, 6))
    values[:, :, :old.value.shape[2]] = state["values"]
    state["values"] = values
    wide.__setstate__(state)
    padded.estimators_[0].tree_ = wide
    record("extra_trees_classifier_multi_padded", padded, iris_S[:, [0, 2, 3]],
           "extra_trees_classifier_multi with its first tree's values padded to 6 classes")
    fixtures.append("extra_trees_classifier_multi_padded")
    fit("kneighbors_classifier_multi", KNeighborsClassifier(n_neighbors=5), iris_X[:, [0, 2, 3]],
        iris_Ys, iris_S[:, [0, 2, 3]], "iris, two outputs (str labels)")
    fit("kneighbors_regressor_multi", KNeighborsRegressor(n_neighbors=4, weights="distance"),
        dia_X, dia_Y, dia_S, "diabetes, two outputs, distance weights")
    fit("mlp_regressor_multi", MLPRegressor(hidden_layer_sizes=(16,), max_iter=500, random_state=0),
        dia_X, dia_Y, dia_S, "diabetes, two outputs")
    dig_L = np.c_[dig_y >= 5, dig_y % 2 == 0, dig_y % 3 == 0].astype(np.int64)
    fit("mlp_classifier_multilabel",
        MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=0),
        dig_X, dig_L, dig_S, "digits, three labels (>= 5, even, multiple of 3)")

    # Feature names (see the module docstring).
    fit("feature_names", LogisticRegression(max_iter=1000), named(iris_X, iris_names), iris_y, iris_S,
        "iris fitted on named columns")

    # Compressed variants of one model.
    model = joblib.load("random_forest_classifier.joblib")
    for comp, ext in ((("zlib", 3), "zlib"), (("gzip", 3), "gzip"), (("xz", 3), "xz")):
        name = "random_forest_classifier_" + ext
        joblib.dump(model, name + ".joblib", compress=comp)
        out = json.load(open("random_forest_classifier.json"))
        out["note"] = "random_forest_classifier saved with compress=" + repr(comp)
        write_json(name + ".json", out)
        fixtures.append(name)

    # The scikit-learn >= 1.3 tree node layout (see the module docstring).
    tree = joblib.load("decision_tree_classifier.joblib")
    original = tree.tree_
    tree.tree_ = ReducedTree(original)
    joblib.dump(tree, "tree_node_1_3.joblib")
    tree.tree_ = original
    out = json.load(open("decision_tree_classifier.json"))
    out["note"] = "decision_tree_classifier re-pickled with the >= 1.3 node layout (missing_go_to_left)"
    write_json("tree_node_1_3.json", out)
    fixtures.append("tree_node_1_3")

    # The OneHotEncoder attributes of scikit-learn >= 1.3: the grouped drop
    # indices move to _drop_idx_after_grouping (transform uses them),
    # drop_idx_ indexes categories_, and feature_name_combiner appears.
    # Predictions do not change, so the expected outputs are the 1.2 ones.
    model = joblib.load("onehot_max_categories.joblib")
    enc = model[0]
    grouped = enc.drop_idx_
    enc._drop_idx_after_grouping = grouped
    enc.drop_idx_ = np.array([np.flatnonzero(mp == d)[0] if mp is not None and d is not None else d
                              for mp, d in zip(enc._default_to_infrequent_mappings, grouped)],
                             dtype=object)
    enc.feature_name_combiner = "concat"
    joblib.dump(model, "onehot_1_3.joblib")
    out = json.load(open("onehot_max_categories.json"))
    out["note"] = "onehot_max_categories with the OneHotEncoder attributes of scikit-learn >= 1.3"
    write_json("onehot_1_3.json", out)
    fixtures.append("onehot_1_3")

    # Files the runtime must refuse: an estimator it does not implement,
    # a setting it does not implement, and a model with inconsistent
    # shapes. Only the .joblib is written.
    from sklearn.dummy import DummyClassifier
    joblib.dump(DummyClassifier().fit(iris_X, iris_y), "unsupported_dummy.joblib")
    joblib.dump(SVC(kernel="precomputed").fit(iris_X @ iris_X.T, iris_y),
                "unsupported_svc_precomputed.joblib")
    bad = LogisticRegression(max_iter=1000).fit(iris_X, iris_y)
    bad.coef_ = bad.coef_[:2]
    joblib.dump(bad, "invalid_logistic_shape.joblib")

    write_json("index.json", {
        "versions": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "joblib": joblib.__version__,
            "numpy": np.__version__,
        },
        "fixtures": sorted(fixtures),
        "unsupported": ["unsupported_dummy", "unsupported_svc_precomputed"],
        "invalid": ["invalid_logistic_shape"],
    })


if __name__ == "__main__":
    main()
