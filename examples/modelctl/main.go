// Command modelctl manages model packages and a modelvault registry from
// the shell: it checks and builds packages, imports, scans, lists,
// validates, deploys, rolls back, deletes and prunes versions in a store
// given as a directory or a URL, and serves the REST API and web UI over
// it (modelctl serve).
//
// Usage:
//
//	modelctl [--store URL|DIR] [--model NAME] [--json] COMMAND [ARGS]
//
// A store that holds several models keeps each under models/NAME/:
// --model NAME (or $MODELVAULT_MODEL) addresses one, "modelctl models"
// lists them, and "modelctl serve" serves them all (registryhttp.NewModels).
// Run "modelctl help" for the commands. Exit codes: 0 done, 1 refused or
// failed, 2 usage error. With --json every command prints one JSON
// document on standard output; its field names are stable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
