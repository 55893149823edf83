package registry

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
)

// ErrLegacyLayout: the store's log was written when a registry grouped
// versions by model name, and it holds several models that an importer
// named. A registry is now one model's lineage: split the store with
// [Migrate], which moves each model under models/NAME/ (see [OpenModel]).
//
// A log whose versions were grouped only by metadata.model_type (the
// default) opens unchanged: its versions form one lineage, replayed in
// log order, so the last deployment is the deployed version.
var ErrLegacyLayout = modelpkg.NewError("legacy_layout", "registry: the store holds several models in one log")

// metadataModelType returns metadata.model_type from a stored
// metadata.json, or "".
func metadataModelType(md json.RawMessage) string {
	var m struct {
		ModelType string `json:"model_type"`
	}
	if len(md) == 0 || json.Unmarshal(md, &m) != nil {
		return ""
	}
	return m.ModelType
}

// addLegacy records the model name an old log gave the version of e, whose
// record is rec. It refuses (without changing s) a name that makes the
// log hold several models of which one was named by its importer, unless
// the fold is Migrate's.
func (s *state) addLegacy(e *Event, rec *Version) error {
	derived := rec.ModelType
	if derived == "" {
		derived = "default" // what old imports and scans named such versions
	}
	n := legacyName{Name: e.LegacyModel, Chosen: e.LegacyModel != derived}
	if !s.legacyOK {
		names := maps.Clone(s.legacyNames)
		chosen := s.legacyChosen
		if old, ok := s.Legacy[e.Version]; ok {
			if names[old.Name]--; names[old.Name] == 0 {
				delete(names, old.Name)
			}
			if old.Chosen {
				chosen--
			}
		}
		names[n.Name]++
		if n.Chosen {
			chosen++
		}
		if chosen > 0 && len(names) > 1 {
			return legacyError(names)
		}
	}
	s.dropLegacy(e.Version)
	s.addLegacyName(e.Version, n)
	return nil
}

func (s *state) addLegacyName(version string, n legacyName) {
	if s.legacyNames == nil {
		s.legacyNames = map[string]int{}
	}
	s.Legacy[version] = n
	s.legacyNames[n.Name]++
	if n.Chosen {
		s.legacyChosen++
	}
}

func (s *state) dropLegacy(version string) {
	old, ok := s.Legacy[version]
	if !ok {
		return
	}
	delete(s.Legacy, version)
	if s.legacyNames[old.Name]--; s.legacyNames[old.Name] <= 0 {
		delete(s.legacyNames, old.Name)
	}
	if old.Chosen {
		s.legacyChosen--
	}
}

func legacyError(names map[string]int) error {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(names)) {
		parts = append(parts, fmt.Sprintf("%s (%d versions)", n, names[n]))
	}
	return fmt.Errorf("%w: it was written when a registry grouped versions by model name, and it holds %d models: %s. "+
		"A registry is now one model's lineage: split the store with `modelctl --store URL migrate` (registry.Migrate), "+
		"which copies each model to models/NAME/, then open one with `modelctl --model NAME` (registry.OpenModel)",
		ErrLegacyLayout, len(names), strings.Join(parts, ", "))
}
