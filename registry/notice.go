package registry

import "github.com/modelvault/modelvault/validate"

// NoticeKind names what a [Notice] reports.
type NoticeKind string

// Notice kinds.
const (
	// NoticeEvent: an event was appended to the log (by any process) and
	// folded into this registry's state.
	NoticeEvent NoticeKind = "event"
	// NoticeVerificationFailed: a stored version's files no longer match
	// their digests (Deploy, Rollback, Validate or a Live load found it).
	NoticeVerificationFailed NoticeKind = "verification_failed"
	// NoticeScanRejected: a scan found a placed package that is invalid.
	NoticeScanRejected NoticeKind = "scan_rejected"
	// NoticeLoaded: a Live loaded a version and now serves it.
	NoticeLoaded NoticeKind = "loaded"
	// NoticeLoadFailed: a Live could not load (or warm up) a version and
	// keeps serving the previous one.
	NoticeLoadFailed NoticeKind = "load_failed"
)

// Notice is what [Options.Notify] receives: registry events and
// process-local happenings that hosts feed to metrics, logs or webhooks.
type Notice struct {
	Kind NoticeKind
	// Event is set for NoticeEvent.
	Event *Event
	// Version names the version the notice is about, when it is about one.
	Version string
	// Model is the registry's name (Options.Name), so that one Notify
	// can serve the registries of several models.
	Model string
	// Err is the failure, for the *Failed and Rejected kinds.
	Err error
	// Findings are the validation findings, when there are any.
	Findings []validate.Finding
}

func (r *Registry) notify(n Notice) {
	if r.opts.Notify != nil {
		n.Model = r.opts.Name
		r.opts.Notify(n)
	}
}
