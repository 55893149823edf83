// Package sklearn runs scikit-learn models in pure Go: it loads the
// model.joblib a package carries (or any joblib or pickle file holding a
// supported estimator) and predicts exactly what scikit-learn predicts,
// with no Python anywhere.
//
// [Load] returns a [Model] with Predict, PredictProba and
// DecisionFunction (where scikit-learn has them), Classes, NFeatures and
// FeatureNames. Rows are [][]float64, or [][]any (PredictRows and its
// siblings) when a column holds strings (OneHotEncoder categories) or
// missing values (nil); [Model.Row] orders a named row (a JSON object) by
// the feature names a model fitted on a DataFrame records.
//
// Batches: [Matrix] holds rows in one row-major []float64, and
// [Model.AppendPredictFloats], [Model.AppendPredictClasses] and
// [Model.AppendPredictProba] append their results to a slice the caller
// may reuse. Rows are read in place in every form ([][]float64 too), and
// batches of 2,048 rows or more are cut into chunks predicted on
// GOMAXPROCS goroutines; BENCHMARKS.md compares the speed with
// scikit-learn's. Linear regressors fitted on a 2-D y predict
// [Model.NOutputs] values per row.
//
// Supported estimators ([Supported]): LinearRegression, Ridge,
// RidgeClassifier, Lasso, ElasticNet, LogisticRegression (binary,
// multinomial, one-vs-rest), SGDClassifier and SGDRegressor, LinearSVC and
// LinearSVR, Perceptron; DecisionTree, RandomForest and ExtraTrees
// (classifier and regressor), GradientBoosting and HistGradientBoosting
// (classifier and regressor; numeric and categorical features, missing
// values; binomial, multinomial and exponential losses); KNeighbors
// (classifier and regressor), GaussianNB, SVC and SVR (linear, rbf, poly
// and sigmoid kernels; SVC's predict_proba with probability=True),
// MLPClassifier and MLPRegressor; and as pipeline steps StandardScaler,
// MinMaxScaler, MaxAbsScaler, RobustScaler, SimpleImputer (with
// add_indicator), MissingIndicator, OneHotEncoder (numeric and string
// categories; infrequent categories grouped by min_frequency or
// max_categories), PolynomialFeatures, PCA and ColumnTransformer, in a
// Pipeline.
//
// Multi-output models, fitted on a 2-D y: DecisionTree, RandomForest and
// ExtraTrees (classifier and regressor), KNeighbors (classifier and
// regressor) and MLPRegressor predict [Model.NOutputs] values per row,
// and MLPClassifier fitted on a label indicator matrix predicts one 0/1
// label per column (multilabel). Predict then returns one []any (labels)
// or []float64 (values) per row; a multi-output classifier's
// probabilities come from [Model.PredictProbaOutputs], one matrix per
// output as scikit-learn's list. scikit-learn 1.2 itself has no
// multi-output GradientBoosting, HistGradientBoosting, GaussianNB, SVC or
// SVR (they need a MultiOutputRegressor or MultiOutputClassifier wrapper,
// which the runtime does not load), and MLPClassifier has no
// multiclass-multioutput mode.
//
// HistGradientBoosting's categorical features are predicted as
// scikit-learn's predictor does: a negative value or NaN is missing, a
// category unseen at fit time goes the way missing values go, and any
// other value is cast to uint8 as its C code does on x86-64 (256 is
// category 0, 2.5 is 2, a value beyond the int32 range is 0).
//
// Exactness: the tests compare every supported estimator, fitted by
// scikit-learn 1.2 on its bundled data sets (testdata/gen.py), with what
// scikit-learn answers: class labels are identical, probabilities,
// decision values and regression outputs within 1e-9 relative, and trees
// and forests bit-identical (features are cast to float32 and compared
// with the float32 thresholds, as scikit-learn does). Tree nodes are read
// by their pickled field names, so newer node layouts (scikit-learn 1.3's
// missing_go_to_left) load too. KNeighbors fitted with the KD tree
// chooses among equidistant neighbors as scikit-learn's KD tree query
// does; with the ball tree or brute force, ties go to the earlier
// training row.
//
// A registry host serves deployed models with the loader in the
// subpackage sklearnloader (registry.NewLive(ctx, reg,
// sklearnloader.New(nil), nil)); it is a subpackage because the registry
// imports this package through validate's test load. [LoadFS] loads a
// model from any fs.FS.
//
// # Errors
//
// Load returns errors wrapping [ErrUnsafe] (the pickle machine refused
// the file), [ErrUnsupported] (the message names the class and lists the
// supported ones) or [ErrInvalidModel]. Prediction methods return errors
// wrapping [ErrFeatureCount], [ErrMissingValue] (NaN or nil where the
// model does not accept missing values; HistGradientBoosting and
// SimpleImputer do; a MissingIndicator fitted with error_on_new=True
// refuses a missing value in a column that had none at fit time),
// [ErrNotNumber] (a string where a number is needed,
// or an infinity), [ErrUnknownCategory], [ErrUnknownFeature] (Row) and
// [ErrNotAvailable] (PredictProba on a model without predict_proba, or
// on a multi-output classifier: see PredictProbaOutputs).
// Nothing panics on bad input.
//
// # Concurrency
//
// A [Model] is immutable after Load and safe for concurrent use.
//
// # Security and limits
//
// The file is parsed by internal/pickle, the restricted machine the
// package scan uses: no code in the file runs, only the globals of its
// policy may be named, and everything it would allocate is charged to a
// budget ([Options]). The runtime then reads plain values from the
// approved graph and checks every index it will follow (tree children
// after their parent, features within the input), so a crafted file
// cannot make prediction loop or read out of range.
package sklearn
