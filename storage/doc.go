// Package storage defines Store, the small streaming interface over which
// modelvault keeps packages and registry state, and helpers over it.
package storage
