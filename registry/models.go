package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/storage"
)

// A registry is the lineage of versions of one model. A store that holds
// several models keeps each one's registry under its own key prefix,
// ModelsDir + "/" + name + "/" (like Triton's one directory per model):
//
//	models/fraud/model_1.0/...      models/fraud/_registry/log/...
//	models/churn/model_3.2/...      models/churn/_registry/log/...
//
// [OpenModel] opens one of them, [Models] lists them. A registry opened
// with [Open] on a store (or on any [storage.Sub] view) is one model too;
// the prefix layout is only a convention that the HTTP handler, the UI and
// modelctl share to address models by name.
const ModelsDir = "models"

// MaxModelNameLen is the longest model name.
const MaxModelNameLen = 64

// ErrInvalidModelName: a model name that [ValidateModelName] refuses.
var ErrInvalidModelName = modelpkg.NewError("invalid_model_name", "registry: invalid model name")

// ValidateModelName reports whether name can name a model: 1 to 64
// characters from [a-z0-9._-], starting with a letter or digit, and not a
// Windows device name ("con", "nul.txt"). Names are lower case so that no
// two share a directory on a case-insensitive disk. Errors wrap
// [ErrInvalidModelName].
func ValidateModelName(name string) error {
	const pattern = "[a-z0-9][a-z0-9._-]{0,63}"
	if name == "" || len(name) > MaxModelNameLen {
		return fmt.Errorf("%w: %q must be 1-%d characters matching %s", ErrInvalidModelName, name, MaxModelNameLen, pattern)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i == 0 && !alnum || !alnum && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("%w: %q does not match %s", ErrInvalidModelName, name, pattern)
		}
	}
	if strings.HasSuffix(name, ".") {
		return fmt.Errorf("%w: %q ends in a dot (Windows drops it)", ErrInvalidModelName, name)
	}
	base, _, _ := strings.Cut(name, ".")
	switch base {
	case "con", "prn", "aux", "nul", "conin$", "conout$":
		return fmt.Errorf("%w: %q is a Windows device name", ErrInvalidModelName, name)
	}
	if len(base) == 4 && (strings.HasPrefix(base, "com") || strings.HasPrefix(base, "lpt")) && base[3] >= '0' && base[3] <= '9' {
		return fmt.Errorf("%w: %q is a Windows device name", ErrInvalidModelName, name)
	}
	return nil
}

// ModelStore returns the view of store that holds model name's registry:
// storage.Sub(store, "models/"+name).
func ModelStore(store storage.Store, name string) (storage.Store, error) {
	if err := ValidateModelName(name); err != nil {
		return nil, err
	}
	return storage.Sub(store, ModelsDir+"/"+name)
}

// OpenModel opens the registry of model name in a store that holds
// several models: [Open] on [ModelStore](store, name), with
// Options.Name set to name. The model does not need to exist: a first
// import creates it.
func OpenModel(ctx context.Context, store storage.Store, name string, opts *Options) (*Registry, error) {
	sub, err := ModelStore(store, name)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Name = name
	return Open(ctx, sub, &o)
}

// Models returns the sorted names of the models store holds under
// "models/": the prefixes of [OpenModel]. Prefixes that are not valid
// model names are skipped.
func Models(ctx context.Context, store storage.Store) ([]string, error) {
	var names []string
	for page, err := range storage.Pages(ctx, store, &storage.ListOptions{Prefix: ModelsDir + "/", Delimiter: "/"}) {
		if err != nil {
			return nil, fmt.Errorf("registry: listing models: %w", err)
		}
		for _, p := range page.Prefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(p, ModelsDir+"/"), "/")
			if ValidateModelName(name) == nil {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
