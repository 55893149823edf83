package sklearn_test

import (
	"fmt"
	"log"
	"math"
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

// A batch in one row-major slice, predicted into a buffer reused from
// call to call: the fastest form for large batches.
func ExampleModel_AppendPredictFloats() {
	f, err := os.Open("testdata/linear_regression_multioutput.joblib")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := sklearn.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	d, k := m.NFeatures(), m.NOutputs()
	X := sklearn.Matrix{Rows: 3, Cols: d, Data: make([]float64, 3*d)} // three rows of zeros
	X.Data[d+2] = 0.05                                                // row 1, feature 2 (bmi)

	var out []float64
	for range 2 { // the second call reuses out's array
		if out, err = m.AppendPredictFloats(out[:0], X); err != nil {
			log.Fatal(err)
		}
	}
	for i := 0; i < X.Rows; i++ {
		fmt.Printf("%.2f\n", out[i*k:(i+1)*k])
	}

	X.Data[2*d] = math.NaN()
	_, err = m.AppendPredictFloats(out[:0], X)
	fmt.Println(err)
	// Output:
	// [152.13 -152.13]
	// [178.13 -163.13]
	// [152.13 -152.13]
	// sklearn: missing value: LinearRegression: row 2 column 0 is NaN
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
