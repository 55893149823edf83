// Package modelpkg defines the model package format and reads, extracts and
// builds packages safely.
package modelpkg
