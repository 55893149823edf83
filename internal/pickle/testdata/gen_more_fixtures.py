"""Writes real/more_*.joblib: one small fitted model for each class the
scanner it replaced already accepted but the runtime's fixtures lack, so
the policy's BUILD schemas for them are derived from and tested on real
files. Run with Debian's interpreter from this directory:

    /usr/bin/python3 gen_more_fixtures.py
"""
import os

import joblib
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.linear_model import LogisticRegressionCV
from sklearn.naive_bayes import BernoulliNB, MultinomialNB
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import LabelBinarizer, LabelEncoder, Normalizer, OrdinalEncoder, StandardScaler
from sklearn.tree import ExtraTreeClassifier, ExtraTreeRegressor

OUT = "real"


def main():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 4)
    y = (X[:, 0] > 0.5).astype(int)
    models = {
        "kmeans": KMeans(n_clusters=2, n_init=2, random_state=0).fit(X),
        "truncated_svd": TruncatedSVD(n_components=2, random_state=0).fit(X),
        "logreg_cv": LogisticRegressionCV(cv=2).fit(X, y),
        "bernoulli_nb": BernoulliNB().fit(X, y),
        "multinomial_nb": MultinomialNB().fit(X, y),
        "feature_union": FeatureUnion([("s", StandardScaler()), ("n", Normalizer())]).fit(X),
        "label_binarizer": LabelBinarizer().fit(y),
        "label_encoder": LabelEncoder().fit(["a", "b", "a"]),
        "normalizer": Normalizer().fit(X),
        "ordinal_encoder": OrdinalEncoder().fit(np.array([["a"], ["b"]], dtype=object)),
        "extra_tree_classifier": ExtraTreeClassifier(random_state=0).fit(X, y),
        "extra_tree_regressor": ExtraTreeRegressor(random_state=0).fit(X, X[:, 1]),
    }
    for name, m in models.items():
        joblib.dump(m, os.path.join(OUT, "more_" + name + ".joblib"))


if __name__ == "__main__":
    main()
