package registryhttp

// SpoolState reports the uploads being received and the bytes reserved
// for spools and staged packages: spool files have no name in TempDir
// (on Unix), so tests watch the gate instead.
func SpoolState(h *Handler) (uploads int, bytes int64) {
	h.gate.mu.Lock()
	defer h.gate.mu.Unlock()
	return h.gate.uploads, h.gate.bytes
}

// StagedCount reports how many staged packages h keeps.
func StagedCount(h *Handler) int {
	h.stage.mu.Lock()
	defer h.stage.mu.Unlock()
	return len(h.stage.entries)
}
