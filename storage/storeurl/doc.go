// Package storeurl opens a [storage.Store] from a string a host puts in its
// configuration: a directory path or a URL.
//
//   - A plain path ("/var/lib/modelvault", "./data") or a file:// URL
//     opens storage/diskstore. (file:// is not sent to gocloud's fileblob,
//     whose create-if-absent is not atomic.)
//   - Any other URL ("s3://bucket?region=eu-west-1", "gs://bucket",
//     "azblob://container", "mem://") opens storage/blobstore through
//     gocloud.dev's blob.OpenBucket.
//
// The package registers gocloud's in-memory driver (mem://) and no other:
// a host blank-imports the cloud drivers it wants (for example
// _ "gocloud.dev/blob/s3blob"), so that SDKs it does not use stay out of
// its build. A URL whose scheme has no registered driver is an error.
//
// Package storage cannot do this itself: it must not import its backends.
package storeurl
