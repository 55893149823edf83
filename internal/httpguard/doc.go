// Package httpguard holds the HTTP hygiene that the registry's handler
// (registry/registryhttp) and the example server share: which paths
// http.ServeMux serves without an HTML redirect, and turning a panic into
// a logged fault with a JSON answer instead of a dropped connection.
package httpguard
