// Package registry keeps the versions of model packages in a
// storage.Store, deploys and rolls them back, and serves the deployed one
// to a host's code through [Live], hot-swapped under live traffic.
//
// A registry is the lineage of versions of one model: whatever estimator
// class each version holds (metadata.model_type, kept as
// Version.ModelType), one version is deployed and rollbacks walk back
// through its deployments. A host with several models opens one registry
// per model; [OpenModel] keeps each under models/NAME/ of one store and
// [Models] lists them.
//
// # The story
//
// [Open] a registry on a store; [Registry.Import] a package (a
// model_{version}_deployment.zip stream): it is checked before anything is
// written, claimed, extracted in one pass into model_{version}/ with every
// file hashed, validated, and registered as available. [Registry.Scan]
// registers packages placed in the store by hand. Nothing is deployed
// automatically: [Registry.Deploy] makes a version the deployed one
// (after re-verifying its files and, with a [Loader]
// configured, a test load), [Registry.Rollback] returns to the previous
// deployment, [Registry.Delete] and [Registry.Prune] remove versions, and
// [Registry.History] lists every event with its actor and reason.
//
// [NewLive] loads the deployed version into the host's own model type M
// through a [Loader], follows deploys and rollbacks made by any process
// sharing the store, and swaps models atomically: [Live.Acquire] returns a
// [Lease] on the current model in a few nanoseconds, never blocks, and the
// old model is closed only after its last lease is released. A failed
// load is retried with jittered backoff; [Live.WaitFor] waits until a
// version is served, and every Live publishes what it serves, so
// [Registry.Serving] shows a fleet converge.
//
// # State
//
// Registry state is a fold over an append-only log of immutable events
// kept in the store under _registry/log/, one object per event with a
// zero-padded sequence number as its key. An event is appended with a
// conditional create (storage.PutOptions.IfNotExist) of the next key; a
// writer that loses the race reads the new tail, re-checks its
// preconditions against it and tries again. So every change is
// linearizable across processes and machines sharing one bucket, with no
// database. Checkpoints of the folded state (_registry/checkpoints/) keep
// Open fast; the log stays the truth.
//
// A commit point is one conditional create, decided by identity: every
// event carries a random ID and the SHA-256 of the event before it (so an
// overwritten slot is [ErrCorruptLog], never folded), and a create
// answered "exists" (a store client retrying a write whose response was
// lost) reads the slot: our own event there is a success. The commit runs
// detached from the caller's cancellation, bounded by
// [Options.CommitTimeout], and a commit that succeeded is never undone.
// Decisions taken on a snapshot are re-checked against the state the
// event lands on: a rollback to the previous deployment derives its
// target inside its append, so racing deploys and rollbacks serialise.
// A version's validity and deployment are orthogonal (Version.Valid and
// Version.Deployed; Status is derived from them): an invalid version is
// never a deploy or rollback target. Versions are unique under case
// folding and Windows aliases, so no two share a directory on a
// case-insensitive store. Every successful mutating call records exactly
// one event, or returns an event with NoOp set when there was nothing to
// change.
//
// Import claims live under _registry/claims/, each with a random token,
// and heartbeats under _registry/leases/. A claim's holder renews its
// lease while it imports and re-checks that it holds the claim right
// before its commit; a claim whose holder was last alive longer than
// [Options.ClaimLease] ago (by [Options.Now]) is taken over only after
// re-reading, right before each destructive step, that it is still the
// claim judged stale, and after fencing it in the log (a claim_expired
// event): an import whose claim is fenced cannot commit, and a fence that
// finds the version imported leaves its files alone.
//
// # Errors
//
// Operations wrap a sentinel, so errors.Is works and modelpkg.Code gives
// a stable code: [ErrNotFound] (unknown version), [ErrVersionExists]
// (versions are immutable), [ErrInUse] (deleting the deployed version),
// [ErrConflict] (another writer kept winning, or an import of the same
// version is in progress), [ErrInvalid] (deploying an invalid version),
// [ErrNoPrevious], [ErrLegacyLayout], [ErrUnknownEvent] (a log written
// by a newer library) and [ErrCorruptLog]. Package rejections wrap
// modelpkg's sentinels (modelpkg.ErrUnsafePath, modelpkg.ErrHashMismatch,
// ...); validation failures are a *validate.Error carrying every finding.
// [Live] reports [ErrNotLoaded], [ErrClosed] and [ErrLoad].
//
// # Concurrency
//
// A [Registry] is safe for concurrent use, and any number of registries in
// any number of processes may share one store. List, Get and Deployed read
// this process's view of the log; operations that change the registry read
// the log's tail first, and [Registry.Sync] or [Registry.Watch] bring the
// view up to date. One poller per Registry reads the log's tail every
// [Options.PollInterval] while anything watches, and fans the events out
// in memory to every Watch and Live; a slow watcher never holds up the
// others. A [Live] is safe for concurrent use; Acquire and Release are
// lock-free.
//
// # Security and limits
//
// Imports enforce modelpkg's archive limits (non-zero by default) and the
// validators of validate.Default, which never execute package code. Files
// are re-verified against their recorded SHA-256 on every deploy, rollback
// and Live load (while the loader reads them), so a file changed in the
// store after import is never served. Failed operations remove what they
// wrote; an import that dies leaves a claim that [Registry.Repair]
// resolves once its holder has not renewed it for [Options.ClaimLease], so
// another replica's import in progress is never touched. Spool files of
// imports that died are removed once a day old.
package registry
