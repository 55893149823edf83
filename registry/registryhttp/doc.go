// Package registryhttp serves a [registry.Registry] over HTTP: a JSON REST
// API and an embedded web UI, from one [http.Handler] that a host mounts
// into its own mux.
//
//	h := registryhttp.New(reg, &registryhttp.Options{
//		Authorizer: registryhttp.BearerTokens(os.Getenv("MODELVAULT_TOKEN")),
//	})
//	mux.Handle("/registry/", http.StripPrefix("/registry", h))
//
// The routes, relative to the mount point:
//
//	GET    /                          the web UI (index.html, app.js, app.css)
//	GET    /openapi.json              the OpenAPI 3 document of this API
//	POST   /models/import             multipart field "file"; ?validate=true ?dry_run=false ?reason=
//	POST   /staged/{token}            import the package a dry run staged, without uploading it again
//	GET    /models                    ?status=
//	GET    /models/{version}
//	GET    /models/{version}/package  the stored version as a package (application/zip)
//	POST   /models/{version}/validate
//	POST   /models/{version}/deploy
//	POST   /models/{version}/rollback roll back to that version
//	POST   /rollback                  to the previous deployment
//	DELETE /models/{version}
//	POST   /models/scan
//	GET    /history                   ?version= ?after= ?limit=
//	GET    /events                    server-sent events; Last-Event-ID or ?after= resumes
//	GET    /serving                   what each running process serves (Registry.Serving, or Options.Serving)
//
// # Several models
//
// A store that holds several models keeps each one's registry under
// models/{name}/ (registry.OpenModel). [NewModels] serves all of them from
// one handler: model name's API and UI, every route above, under
// /m/{name}/; the model list at / (a page linking to each model's, whose
// header then switches between models) and as JSON at GET /models-index
// (each model's versions, deployed version and model_type). Registries
// are opened on first use, at most ModelsOptions.MaxOpen at once (the
// least recently used idle one is closed), and closed by [Models.Close].
// A request for a model the store does not hold is answered 404
// unknown_model after the authorisation its method needs; an import into
// a new name (POST /m/{name}/models/import, or the confirmation of its dry
// run) creates the model. Names are checked by registry.ValidateModelName
// (400 invalid_model_name). One [Options] applies to every model: the
// same authorizer, cross-origin and Host checks, one upload budget and
// one cap on event streams.
//
// Every change accepts ?reason=, recorded in the registry's history with
// the actor: the one the [Authorizer] reports (for [BearerTokens],
// "token:" and 8 hex digits of the token's SHA-256), preceded by the
// X-Modelvault-Actor request header when the client sends one (without
// an authorizer, under AllowUnauthenticated, the header's name followed by
// "(unauthenticated)").
//
// The UI is one page with a token prompt (the token is kept in the tab's
// sessionStorage), a file picker that checks the
// model_{version}_deployment.zip naming before uploading, an upload with a
// progress bar that runs a dry run first and shows the package's metadata
// and warnings for confirmation (the confirmation imports the staged
// package, without a second upload), the version list with Deploy, Rollback,
// Validate and Delete per version, the history, and messages that show the
// server's error and findings. It uses relative URLs only, so it works
// under any mount prefix ending in a slash.
//
// # Errors
//
// Every error answer is JSON:
//
//	{"error": {"code": "hash_mismatch", "message": "...", "findings": [{"severity", "code", "path", "message"}]}}
//
// The code is the stable code of the registry's or modelpkg's sentinel
// error (modelpkg.Code). Statuses:
//
//   - 400: a malformed request or form, an invalid version or file name
//     (invalid_name).
//   - 401: missing or wrong credentials (unauthenticated).
//   - 403: the authorizer refused (forbidden), no authorizer is configured
//     (no_authorizer), or a change came from another origin (cross_origin).
//   - 404: unknown version or endpoint (not_found), unknown staged upload
//     (unknown_token); 405 wrong method.
//   - 408: an upload arrived slower than MinUploadRate (too_slow).
//   - 410: a staged upload expired (token_expired).
//   - 421: the Host header is not one of Options.AllowedHosts
//     (misdirected_host).
//   - 409: version_exists, in_use, conflict, invalid_version (deploying an
//     invalid version), no_previous, token_in_use (a staged upload that
//     another request is importing).
//   - 413: the upload exceeds MaxUploadSize (too_large).
//   - 422: the package was rejected. validation_failed carries every
//     finding; a package error found before validation (invalid_archive,
//     unsafe_path, unsafe_entry_type, duplicate_entry, resource_limit,
//     missing_file, invalid_metadata, invalid_manifest, hash_mismatch)
//     carries itself as the one finding; load_failed when the registry's
//     load test failed a deploy.
//   - 503: too many uploads, spooled bytes or event streams (busy), or
//     the handler or registry is closed (unavailable, closed); with
//     Retry-After.
//   - 500: anything else, a server fault: logged, answered as "internal"
//     without details. A panic in a route, the Authorizer or the Serving
//     function is one too (logged with its stack); once an answer has
//     begun it is cut off instead, as net/http does.
//
// A path that is not canonical (an empty, "." or ".." segment) is a 404,
// not the redirect http.ServeMux would answer in HTML. Go's server itself
// answers, in plain text and before any handler runs, a malformed request
// line or header (400), headers beyond http.Server.MaxHeaderBytes (431),
// an unknown Transfer-Encoding (501) and an Expect other than
// 100-continue (417); "OPTIONS *" too, unless the host sets
// http.Server.DisableGeneralOptionsHandler. No handler can change those.
//
// POST /models/{version}/validate answers 200 with valid=false and the
// findings when a stored version fails: the request itself succeeded.
//
// # Concurrency
//
// A [Handler] is safe for concurrent use; the registry serialises
// changes (see the registry package). Each upload is spooled to its own
// temporary file, closed before the request ends, except a dry run's,
// which is kept open, staged for its confirmation (POST /staged/{token}),
// until Options.StageTTL passes. On Unix a spool file is unlinked as soon
// as it is created, so it has no name in TempDir and a killed server
// leaves nothing behind; elsewhere the handler removes it, and removes
// what a previous process left at start-up once older than StageTTL. A
// confirmation uses the token up only on a definite outcome: the import
// committed, or refused the package (422); after a conflict, a store
// fault or a cancelled request the token stays valid for another try,
// and the staged package with it. GET /events streams
// run until the client leaves, the registry is closed, or [Handler.Close]
// is called; register Close with http.Server.RegisterOnShutdown so that a
// graceful shutdown does not wait for them.
//
// # Security and limits
//
// The handler is secure by default:
//
//   - Changes (POST, DELETE) need the [Authorizer]'s approval. With no
//     Authorizer they are refused with 403, unless the host opts out with
//     Options.AllowUnauthenticated. Reads (GET /models, /models/{version},
//     /history, /events) need the same approval unless Options.PublicReads
//     is set. The UI's files and /openapi.json are always public; they
//     hold no registry data.
//
//   - Cross-site request forgery: a page on another site cannot send the
//     Authorization header the bearer-token authorizer needs, and changes
//     whose Sec-Fetch-Site or Origin header shows another origin are
//     refused with 403 whatever the authorizer ([http.CrossOriginProtection]),
//     which also protects hosts whose authorizer uses cookies. It compares
//     the Origin with the request's Host, so a reverse proxy in front must
//     pass the Host header through.
//
//   - Uploads: the multipart part's file name, exactly as sent, must be
//     model_{version}_deployment.zip, checked before a byte of the file
//     is read; a name with a path in it is refused (400), so nothing can
//     traverse. The body is streamed to a temporary file (never held in
//     memory) through http.MaxBytesReader: MaxUploadSize, default 100 MiB,
//     is never unlimited; beyond it the answer is 413. The registry then
//     checks the archive (paths, entry types, sizes, ratios) and every
//     file's SHA-256. ?validate=false, which skips the registry's
//     validators such as the pickle safety scan, is refused with 403
//     unless Options.AllowSkipValidation is set.
//
//   - Every answer sets X-Content-Type-Options: nosniff, Referrer-Policy:
//     no-referrer and X-Frame-Options: DENY. The UI is served with a strict
//     Content-Security-Policy (scripts and styles from the handler only, no
//     inline code, no framing); API answers with default-src 'none' and
//     Cache-Control: no-store. The UI writes server data with textContent
//     only.
//
//   - Server faults are logged to Options.Logger and never described in
//     the answer.
//
//   - Hostile clients: an upload must arrive at MinUploadRate on average
//     after UploadGrace (the handler moves the connection's read deadline
//     as bytes arrive); at most MaxUploads uploads spool at once, holding
//     at most MaxSpoolBytes with the staged packages; a refused request
//     with a body is answered at once with Connection: close, without
//     reading the body. GET /events streams are capped (MaxEventStreams),
//     each write has a deadline (WriteTimeout), and a resume replays at
//     most MaxResume events, read a page at a time.
//
//   - Free text is validated, never stored raw: a reason (?reason=, at
//     most 1024 bytes), a model name (?model=, 128) and the
//     X-Modelvault-Actor header (128) must be valid UTF-8 without control
//     or bidirectional-override characters, or the request is refused
//     with 400.
//
//   - Host names: with Options.AllowedHosts, any other Host is refused
//     (421), which defeats DNS rebinding; set it whenever reads or
//     changes need no credentials. Options.TrustedOrigins lists the
//     origins of pages (a reverse proxy's public name) allowed to send
//     changes.
//
// What a host must set on its http.Server: ReadHeaderTimeout (the
// handler cannot bound the time to send headers), IdleTimeout (idle
// keep-alive connections), and a connection limit on its listener (such
// as golang.org/x/net/netutil.LimitListener); WriteTimeout only if it
// does not serve GET /events, whose streams outlive any fixed write
// timeout (the handler sets a deadline per write instead). Leave
// ReadTimeout unset or larger than the longest upload: the handler
// bounds uploads by rate. The example server (examples/server) shows
// all of it.
//
// Serve the handler over TLS (or on loopback): bearer tokens are
// credentials.
package registryhttp
