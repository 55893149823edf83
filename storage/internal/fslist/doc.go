// Package fslist lists a file tree in the order and shape of
// [storage.Store.List], for the backends that keep objects as files.
package fslist
