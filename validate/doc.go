// Package validate judges model packages: small validators that compose
// like HTTP handlers and write every finding into one [Report], so a
// package is judged in one pass that reports every problem at once.
//
// A [Validator] has one method, Validate(ctx, pkg, report); [Func] adapts a
// function, and [All] runs several concurrently (bounded) and merges their
// findings in the order given, so reports are stable. Validators look at a
// package through an fs.FS ([Package].FS): an opened ZIP
// (modelpkg.Package), an extracted directory, or a prefix of a store
// (storage.FS), so they work on every backend.
//
// The built-ins, each usable alone:
//
//   - [RequiredFiles]: the layout's files are present (missing_file).
//   - [Metadata]: metadata.json parses, fields have the right JSON types,
//     created_at is ISO 8601 (invalid_metadata); a missing field is a
//     warning (missing_metadata_field), as the specification asks.
//   - [VersionMatch]: the file name's version equals metadata.version.
//   - [Manifest]: the manifest lists exactly the package's files, with
//     canonical paths (invalid_manifest, missing_file, unlisted_file).
//   - [SHA256]: every file matches its digest (hash_mismatch), using
//     digests computed during extraction ([Package].Digests) instead of
//     reading files again.
//   - [PickleScan]: a static safety scan of pickle and joblib model files:
//     each is parsed into an inert value graph and a policy (exact
//     globals, a schema per callable and per class state, one allocation
//     budget) decides whether joblib.load or pickle.load could run code,
//     exhaust resources or crash (unsafe_model, invalid_model). Nothing is
//     ever unpickled.
//   - [ModelLoad]: the specification's test load, in pure Go: the
//     scikit-learn runtime (modelpkg/sklearn) loads the model, records its
//     class in [Report.ModelType], warns when metadata.model_type
//     disagrees (model_type_mismatch) and predicts a row of zeros
//     (load_failed); an estimator the runtime does not implement is a
//     load_skipped warning. Within one [Standard] call it builds the model
//     from the value graph PickleScan's joblib reading produced, so the
//     model file is parsed once (plus the scan's pickle.load reading,
//     which stops at the first raw array).
//   - [LoadTest]: the host's own loader loads the model (load_failed).
//   - [Script]: opt-in only; runs the package's validate_model.py with a
//     host-chosen interpreter in a temporary copy (script_failed).
//
// [Default] is the set the package specification asks for; [Standard] is
// the same with options.
//
// # Errors
//
// Validators do not return errors: they add findings. Each finding has a
// severity (error or warning), a stable code, the path it is about and a
// message. [Report.Err] returns nil for a valid report and otherwise a
// *[Error] that aggregates the error findings: errors.Is works for each
// finding's sentinel (modelpkg.ErrHashMismatch, [ErrUnsafeModel], ...),
// and errors.As gives the *[Error] with every finding. A finding's JSON
// form ({"severity", "code", "path", "message"}) is the one modelctl
// --json and the HTTP API print.
//
// # Concurrency
//
// Validators must be safe to run concurrently on different packages; [All]
// runs its validators concurrently on one package, each with its own
// Report. A Report itself is not safe for concurrent use.
//
// # Security and limits
//
// No built-in validator in [Default] executes package code or imports
// anything (the test load interprets the model with the same restricted
// pickle machine as the scan); JSON files are read under size and nesting limits
// (modelpkg.Limits); the pickle scan is bounded in memory and in work
// (linear in the file's size, one budget for what a loader would
// allocate), decompresses joblib containers with a cap on output, and
// never allocates a declared length. [Script] does run
// package code and is never on by default.
package validate
