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
