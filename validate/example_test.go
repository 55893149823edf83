package validate_test

import (
	"context"
	"fmt"

	"github.com/modelvault/modelvault/internal/pkgtest"
	"github.com/modelvault/modelvault/validate"
)

// Validate a package's files (here in memory; an opened ZIP or a store
// prefix works the same) with the specification's validators.
func ExampleDefault() {
	files := pkgtest.Files("1.0")
	files["README.md"].Data = []byte("edited after the manifest was written\n")
	delete(files, "requirements.txt")

	var report validate.Report
	validate.Default(nil).Validate(context.Background(), &validate.Package{FS: files, Version: "1.0"}, &report)
	fmt.Println("valid:", report.Valid())
	for _, f := range report.Findings {
		fmt.Println(f.Severity, f.Code, f.Path)
	}
	// Output:
	// valid: false
	// error missing_file requirements.txt
	// error missing_file requirements.txt
	// error hash_mismatch README.md
}

// A validator is one function; compose it with the built-ins.
func ExampleFunc() {
	maxSize := validate.Func(func(ctx context.Context, pkg *validate.Package, r *validate.Report) {
		if len(pkgtest.Model) > 1<<20 {
			r.Warnf(nil, "model.joblib", "model is over 1 MiB")
		}
	})
	var report validate.Report
	validate.All(validate.Default(nil), maxSize).Validate(context.Background(),
		&validate.Package{FS: pkgtest.Files("1.0"), Version: "1.0"}, &report)
	fmt.Println("valid:", report.Valid(), "findings:", len(report.Findings))
	// Output:
	// valid: true findings: 0
}
