package pickle_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/modelvault/modelvault/internal/pickle"
)

func ExampleScan() {
	f, err := os.Open("testdata/real/forest_zlib3.joblib")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	res, err := pickle.Scan(context.Background(), f, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Root, res.Compression, res.Arrays > 0)
	// Output: sklearn.ensemble._forest.RandomForestClassifier zlib true
}

func ExampleScan_unsafe() {
	// GLOBAL os system; MARK; STRING 'id'; TUPLE; REDUCE; STOP
	payload := "cos\nsystem\n(S'id'\ntR."
	_, err := pickle.Scan(context.Background(), strings.NewReader(payload), nil)
	var e *pickle.Error
	if errors.As(err, &e) {
		fmt.Println(e.Kind, e.Global, errors.Is(err, pickle.ErrUnsafe))
	}
	// Output: unsafe os.system true
}

func ExampleOptions_allow() {
	// PROTO 4; STACK_GLOBAL('mypkg', 'Model'); EMPTY_TUPLE; NEWOBJ; STOP
	model := "\x80\x04\x8c\x05mypkg\x8c\x05Model\x93)\x81."
	opts := &pickle.Options{Allow: []pickle.Global{{Module: "mypkg", Name: "Model"}}}
	res, err := pickle.Scan(context.Background(), strings.NewReader(model), opts)
	fmt.Println(res.Root, err)
	// Output: mypkg.Model <nil>
}

func ExampleLoad() {
	f, err := os.Open("testdata/real/logreg.joblib")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	root, _, err := pickle.Load(context.Background(), f, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	model := root.(*pickle.Object)
	coef, _ := model.Attr("coef_")
	a := coef.(*pickle.Array)
	fmt.Println(model.Class.Name, a.Dtype, a.Shape, len(a.Data) == a.Len()*a.Dtype.ItemSize)
	// Output: LogisticRegression <f8 [1 4] true
}
