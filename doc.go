// Package modelvault lets a Go service import, verify, register, deploy,
// hot-swap and roll back machine-learning model packages in-process, on
// the storage it already runs.
//
// A model package is a ZIP named model_{version}_deployment.zip holding
// the model (model.joblib by default), metadata.json,
// deployment_manifest.json with the SHA-256 of every file, and the
// specification's scripts and docs. The root package holds only this
// overview; the work is done by its subpackages:
//
//   - [github.com/modelvault/modelvault/modelpkg]: the package format.
//     Opens a ZIP from an io.ReaderAt and rejects anything unsafe before a
//     byte is extracted (path traversal, links, duplicates, bombs,
//     overlapping entries), then extracts it in one streaming pass that
//     hashes every file while it is written. Builds packages too.
//   - [github.com/modelvault/modelvault/storage]: the Store interface
//     (Get, Put with an atomic create-if-absent, Stat, List, Delete) with
//     backends for local disk (diskstore), afero file systems (aferostore)
//     and S3, GCS and Azure through gocloud.dev (blobstore), and a
//     conformance suite (storagetest) every backend passes.
//   - [github.com/modelvault/modelvault/validate]: composable validators
//     writing every finding into one Report with stable codes, including a
//     static safety scan of pickle/joblib files that never runs them.
//   - [github.com/modelvault/modelvault/registry]: versions, import,
//     scan, deploy, rollback, delete, prune and history on an append-only
//     log in the store (many replicas may share one bucket), and Live, the
//     host's model hot-swapped under live traffic without dropping a
//     request.
//
// The package example below tells the story in code: a store, a
// registry, an import, a deploy, and a Live model answering requests.
//
// The runnable programs under examples/ tell the whole story; start with
// examples/quickstart.
package modelvault
