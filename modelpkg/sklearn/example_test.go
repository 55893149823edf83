package sklearn_test

import (
	"fmt"
	"log"
	"os"

	"github.com/modelvault/modelvault/modelpkg/sklearn"
)

// A LogisticRegression fitted on iris by scikit-learn and saved with
// joblib.dump, loaded and run without Python.
func Example() {
	f, err := os.Open("testdata/logistic_multinomial.joblib")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := sklearn.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.ClassName(), m.NFeatures(), m.Classes())

	X := [][]float64{{5.1, 3.5, 1.4, 0.2}, {6.7, 3.0, 5.2, 2.3}}
	labels, err := m.Predict(X)
	if err != nil {
		log.Fatal(err)
	}
	proba, err := m.PredictProba(X)
	if err != nil {
		log.Fatal(err)
	}
	for i := range X {
		fmt.Printf("%v %.3f\n", labels[i], proba[i])
	}
	// Output:
	// LogisticRegression 4 [setosa versicolor virginica]
	// setosa [0.982 0.018 0.000]
	// virginica [0.000 0.080 0.920]
}

// A pipeline with a string column: rows are [][]any.
func ExampleModel_PredictRows() {
	f, err := os.Open("testdata/column_transformer.joblib")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := sklearn.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	labels, err := m.PredictRows([][]any{{5.1, 3.5, 1.4, 0.2, "short"}})
	fmt.Println(labels, err)
	_, err = m.PredictRows([][]any{{5.1, 3.5, 1.4, 0.2, "huge"}})
	fmt.Println(err)
	// Output:
	// [0] <nil>
	// sklearn: unknown category: "huge" in column 0 of row 0
}

// A decision tree fitted on a 2-D y (two outputs: the species and a
// sepal width bin): one label per output, and one probability matrix per
// output.
func ExampleModel_PredictProbaOutputs() {
	f, err := os.Open("testdata/decision_tree_classifier_multi.joblib")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := sklearn.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.NOutputs(), m.OutputClasses(0), m.OutputClasses(1))
	X := [][]float64{{5.1, 1.4, 0.2}, {6.7, 5.2, 2.3}}
	labels, err := m.Predict(X)
	if err != nil {
		log.Fatal(err)
	}
	proba, err := m.PredictProbaOutputs(X)
	if err != nil {
		log.Fatal(err)
	}
	for i := range X {
		fmt.Printf("%v %.2f %.2f\n", labels[i], proba[0][i], proba[1][i])
	}
	// Output:
	// 2 [setosa versicolor virginica] [narrow normal wide xwide]
	// [setosa wide] [1.00 0.00 0.00] [0.00 0.00 0.67 0.33]
	// [virginica normal] [0.00 0.00 1.00] [0.00 1.00 0.00 0.00]
}
