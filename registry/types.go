package registry

import (
	"encoding/json"
	"time"

	"github.com/modelvault/modelvault/validate"
)

// Status is a version's state in the registry.
type Status string

// Statuses.
const (
	// StatusAvailable: imported and valid; can be deployed.
	StatusAvailable Status = "available"
	// StatusDeployed: the registry's deployed version.
	StatusDeployed Status = "deployed"
	// StatusInvalid: found by a scan (or re-validated) and failed
	// validation; see the version's findings.
	StatusInvalid Status = "invalid"
)

// ImportMethod says how a version reached the registry.
type ImportMethod string

// Import methods, as the package specification names them.
const (
	// MethodZipUpload: imported from a ZIP through the API or an upload.
	MethodZipUpload ImportMethod = "zip_upload"
	// MethodManualPlacement: found by a scan of the store.
	MethodManualPlacement ImportMethod = "manual_placement"
)

// File is one file of a stored version.
type File struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Version describes one registered version. Values returned by the
// registry are copies; changing them changes nothing.
type Version struct {
	// Version is the version string, e.g. "1.2.0".
	Version string `json:"version"`
	// ModelType is metadata.model_type: the estimator's class, e.g.
	// "LogisticRegression". It is information, not identity: a registry
	// is one model's lineage whatever its versions' classes (see
	// [OpenModel] for several models in one store).
	ModelType string `json:"model_type,omitempty"`
	// Status is available, deployed or invalid, derived from Valid and
	// Deployed for compatibility: deployed when Deployed, else invalid when
	// not Valid, else available.
	Status Status `json:"status"`
	// Valid says whether the version passed its last validation (at
	// import, scan or [Registry.Validate]). An invalid version is never a
	// deploy or rollback target until a validation passes again.
	Valid bool `json:"valid"`
	// Deployed says whether the version is the deployed one. It is
	// orthogonal to Valid: a deployed version found invalid stays deployed
	// (serving is not interrupted) and is reported invalid.
	Deployed bool `json:"deployed"`
	// ImportMethod is zip_upload or manual_placement.
	ImportMethod ImportMethod `json:"import_method"`
	// ImportedAt is when the version was registered.
	ImportedAt time.Time `json:"imported_at"`
	// Size is the total size of the files in bytes.
	Size int64 `json:"size"`
	// Files maps each file's path (relative to the package root) to its
	// size and SHA-256 digest.
	Files map[string]File `json:"files"`
	// Metadata is the package's metadata.json as stored.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Findings are the warnings recorded at import, or, for an invalid
	// version, the errors that made it invalid.
	Findings []validate.Finding `json:"findings"`
	// Signer is the package's verified signer (deployment_manifest.json.sig,
	// see modelpkg/sshsig): the trusting principal when a trust policy is
	// set (Options.Signers), else only the key's fingerprint. Nil for an
	// unsigned package.
	Signer *validate.Signer `json:"signer,omitempty"`
}

// derive sets Status from Valid and Deployed.
func (v *Version) derive() {
	switch {
	case v.Deployed:
		v.Status = StatusDeployed
	case !v.Valid:
		v.Status = StatusInvalid
	default:
		v.Status = StatusAvailable
	}
}

// Dir returns the store prefix of the version's files ("model_1.2/").
func (v *Version) Dir() string { return "model_" + v.Version + "/" }

func (v *Version) clone() *Version {
	if v == nil {
		return nil
	}
	c := *v
	c.Files = make(map[string]File, len(v.Files))
	for k, f := range v.Files {
		c.Files[k] = f
	}
	c.Metadata = append(json.RawMessage(nil), v.Metadata...)
	c.Findings = append([]validate.Finding(nil), v.Findings...)
	if v.Signer != nil {
		s := *v.Signer
		c.Signer = &s
	}
	return &c
}

// EventType names a registry event.
type EventType string

// Event types recorded in the log. A log written by a newer library may
// hold other types; reading one is an error ([ErrUnknownEvent]).
const (
	// EventImported: a version became available (Record holds it).
	EventImported EventType = "imported"
	// EventInvalid: a placed or stored version failed validation
	// (Record holds it with its findings).
	EventInvalid EventType = "invalid"
	// EventDeployed: To was deployed, replacing From.
	EventDeployed EventType = "deployed"
	// EventRolledBack: the deployment was rolled back from From to To.
	EventRolledBack EventType = "rolled_back"
	// EventDeleted: Version was deleted.
	EventDeleted EventType = "deleted"
	// EventClaimExpired: a repair fenced off the import claim Claim of
	// Version, judged abandoned, before removing its files: an import
	// holding that claim can no longer commit.
	EventClaimExpired EventType = "claim_expired"
)

// Event is one entry of the registry's append-only log.
type Event struct {
	// Seq is the event's position in the log, from 1, without gaps.
	Seq int64 `json:"seq"`
	// ID identifies the event. An append told that its slot is taken
	// reads the slot and compares IDs, so that its own write, retried by
	// a store client after a lost response, is never mistaken for another
	// writer's. Events written before IDs existed have none.
	ID string `json:"id,omitempty"`
	// Prev is the SHA-256 (hex) of the previous event as stored, chaining
	// the log so that an overwritten or reordered slot is detected
	// ([ErrCorruptLog]) instead of folded. Empty for the first event and
	// for events written before chaining existed.
	Prev string `json:"prev,omitempty"`
	// NoOp is set on the value a mutating call returns when there was
	// nothing to change, so nothing was recorded (Seq is then the log
	// position the call observed). It is never stored.
	NoOp bool `json:"no_op,omitempty"`
	// Type says what happened.
	Type EventType `json:"type"`
	// Version is the version the event is about (for deploys and
	// rollbacks, the one now deployed).
	Version string `json:"version,omitempty"`
	// LegacyModel is the model name that logs written before a registry
	// became one model's lineage carried (metadata.model_type unless the
	// importer named one). It is read, never written; see [ErrLegacyLayout].
	LegacyModel string `json:"model,omitempty"`
	// From and To are the deployed versions before and after a deploy or
	// rollback ("" when none).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Time is when the event was appended (the appender's clock).
	Time time.Time `json:"time"`
	// Actor and Reason come from the caller ([Caller]).
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Claim is the fenced claim's token, for claim_expired.
	Claim string `json:"claim,omitempty"`
	// Record is the version as registered, for imported and invalid.
	Record *Version `json:"record,omitempty"`
}
