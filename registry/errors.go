package registry

import "github.com/modelvault/modelvault/modelpkg"

// Sentinel errors. Each has a stable code (modelpkg.Code) that the CLI and
// the HTTP API report.
var (
	// ErrNotFound: the version is not in the registry.
	ErrNotFound = modelpkg.NewError("not_found", "registry: version not found")
	// ErrVersionExists: a version with other content is already registered
	// (versions are immutable), or files for it are already in the store.
	ErrVersionExists = modelpkg.NewError("version_exists", "registry: version already exists")
	// ErrInUse: the version is deployed and cannot be deleted.
	ErrInUse = modelpkg.NewError("in_use", "registry: version is deployed")
	// ErrConflict: another writer kept winning the race to append to the
	// log, or another import of the same version is in progress.
	ErrConflict = modelpkg.NewError("conflict", "registry: conflicting concurrent update")
	// ErrInvalid: the version is not valid (failed validation) and cannot
	// be deployed.
	ErrInvalid = modelpkg.NewError("invalid_version", "registry: version is invalid")
	// ErrNoPrevious: a rollback found no earlier deployment to return to.
	ErrNoPrevious = modelpkg.NewError("no_previous", "registry: no previous deployment")
	// ErrUnknownEvent: the log holds an event type this version of the
	// library does not know (written by a newer writer).
	ErrUnknownEvent = modelpkg.NewError("unknown_event", "registry: unknown event type in log")
	// ErrCorruptLog: the log or a checkpoint could not be decoded.
	ErrCorruptLog = modelpkg.NewError("corrupt_log", "registry: corrupt log")
	// ErrNotLoaded: a Live has no model loaded (nothing is deployed, or the
	// unload-before-load policy is between models).
	ErrNotLoaded = modelpkg.NewError("not_loaded", "registry: no model loaded")
	// ErrClosed: the Live or Registry was closed.
	ErrClosed = modelpkg.NewError("closed", "registry: closed")
	// ErrLoad: the host's loader or warm-up failed.
	ErrLoad = modelpkg.NewError("load_failed", "registry: model load failed")
)
