package irismodel_test

import (
	"bytes"
	"fmt"

	"github.com/modelvault/modelvault/internal/irismodel"
)

func Example() {
	files := irismodel.PackageFiles("2.0")
	m, err := irismodel.Load(bytes.NewReader(files["model.joblib"].Data))
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, x := range irismodel.Samples[:3] {
		label, probs, err := m.Predict(x)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v -> %s (%.2f), want %s\n", x, label, probs[indexOf(m.Classes, label)], irismodel.SampleLabels[i])
	}
	// Output:
	// [5.1 3.5 1.4 0.2] -> setosa (0.98), want setosa
	// [5 3 1.6 0.2] -> setosa (0.95), want setosa
	// [5 2 3.5 1] -> versicolor (0.94), want versicolor
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
