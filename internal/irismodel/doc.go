// Package irismodel is a real model for the example programs: a
// scikit-learn LogisticRegression trained on the iris data set, saved with
// joblib, and a pure-Go loader that reads the joblib file and predicts, so
// the examples need no Python at run time.
//
// [PackageFiles] returns a complete model package (model.joblib,
// metadata.json, the Python scripts, requirements.txt and README.md) for
// modelpkg.Build; version "1.0" holds a strongly regularised model, every
// other version a better one. [Load] reads a model.joblib into a [Model],
// whose [Model.Predict] reproduces scikit-learn's predict and
// predict_proba. testdata/gen.py generates the two models and the
// expected predictions the tests compare against.
//
// # Errors
//
// Load returns errors wrapping [ErrTooLarge], [ErrUnsafeGlobal] or
// [ErrInvalidModel]; Predict returns [ErrFeatureCount] for a row of the
// wrong length.
//
// # Concurrency
//
// A [Model] is immutable after Load and safe for concurrent use.
//
// # Security and limits
//
// Load never runs Python code. It interprets the pickle with a restricted
// VM that builds plain values: only the globals a LogisticRegression file
// contains (the estimator class, numpy.ndarray, numpy.dtype, numpy's
// _reconstruct and scalar in the numpy.core and numpy._core spellings,
// joblib's NumpyArrayWrapper and _codecs.encode) may be named; any other
// global is rejected with ErrUnsafeGlobal, and calls are recorded, not
// made. It reads at most [MaxModelSize] bytes, and every declared length
// (strings, frames, array shapes) is checked against the bytes that remain
// before anything is allocated from it. It supports what joblib.dump
// writes without compression (pickle protocols 2 to 5, raw array data with
// or without alignment padding, nested pickles for object arrays), not
// compressed joblib files or memory-mapped arrays.
package irismodel
