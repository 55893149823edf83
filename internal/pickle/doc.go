// Package pickle is the project's one restricted pickle machine: it parses
// a pickle or joblib file into an inert value graph, never running code,
// and a policy over the final graph decides whether any loader could run
// code, exhaust memory or CPU, or crash when it reads the file. The scan
// (validate.PickleScan) and the scikit-learn runtime both use it; the
// runtime builds estimators only from graphs the policy approved.
package pickle
