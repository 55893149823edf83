"""Loads model.joblib and predicts one iris flower."""
import joblib

model = joblib.load("model.joblib")
# sepal length, sepal width, petal length, petal width (cm)
print(model.predict([[5.1, 3.5, 1.4, 0.2]]))
