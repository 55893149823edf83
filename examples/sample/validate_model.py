"""Checks that model.joblib loads and predicts setosa for a setosa sample."""
import sys

import joblib

model = joblib.load("model.joblib")
label = model.predict([[5.1, 3.5, 1.4, 0.2]])[0]
if str(label) not in ("0", "setosa"):
    sys.exit("unexpected prediction: %r" % (label,))
print("ok:", type(model).__name__)
