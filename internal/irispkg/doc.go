// Package irispkg makes complete model packages for the example programs:
// a scikit-learn LogisticRegression trained on the iris data set, saved
// with joblib, with its metadata, scripts and README. The examples serve
// it with the public runtime, modelpkg/sklearn, so no Python runs.
//
// [PackageFiles] returns a package's files for modelpkg.Build; version
// "1.0" holds a strongly regularised model, every other version a better
// one. [Samples] are iris rows both predict as [SampleLabels].
// testdata/gen.py generated the models and expected.json, which the
// tests compare the runtime's predictions with.
package irispkg
