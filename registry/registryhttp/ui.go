package registryhttp

import (
	"embed"
	"net/http"
	"path"
)

// ui holds the web UI: one page, its script and its style sheet, served
// as they are (no build step, no external assets, no inline code, so the
// page runs under a strict Content-Security-Policy).
//
//go:embed ui/index.html ui/app.js ui/app.css
var ui embed.FS

//go:embed openapi.json
var openAPI []byte

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request, _ string) {
	h.serveFile(w, r, "ui/index.html", "text/html; charset=utf-8")
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, _ string) {
	name := path.Base(r.URL.Path)
	ctype := "text/css; charset=utf-8"
	if path.Ext(name) == ".js" {
		ctype = "text/javascript; charset=utf-8"
	}
	h.serveFile(w, r, "ui/"+name, ctype)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name, ctype string) {
	data, err := ui.ReadFile(name)
	if err != nil {
		h.writeError(w, r, errNoRoute)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(data)
}

func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request, _ string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPI)
}
