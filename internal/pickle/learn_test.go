package pickle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// learnKeys parses files with every class accepted and returns the BUILD
// keys each class received (the learn hook never runs in production).
func learnKeys(t *testing.T, files []string) map[Global]map[string]bool {
	seen := map[Global]map[string]bool{}
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		o := (&Options{Plain: strings.HasSuffix(name, ".pkl")}).withDefaults()
		m := newMachine(context.Background(), o, false)
		m.learn = func(g Global, k string) {
			if seen[g] == nil {
				seen[g] = map[string]bool{}
			}
			seen[g][k] = true
		}
		_, _, err = runWith(m, f, o, runFlags{checkRoot: true})
		f.Close()
		require.NoError(t, err, name)
	}
	return seen
}

// TestSchemasCoverFixtures: every class and BUILD key the real fixtures
// use is in the policy's schemas (schema_classes.go was derived this way).
// With PICKLE_LEARN_DIR set, it prints the classes and keys of the files
// there, in schema_classes.go's format, to extend the schemas.
func TestSchemasCoverFixtures(t *testing.T) {
	files := append(estimatorFixtures(t), realFixtures(t)...)
	if dir := os.Getenv("PICKLE_LEARN_DIR"); dir != "" {
		files, _ = filepath.Glob(filepath.Join(dir, "*.joblib"))
	}
	seen := learnKeys(t, files)
	var out []string
	for g, ks := range seen {
		if g != gRandomState && reduced[g] == nil && classes[g] == nil {
			t.Errorf("class %s has no schema", g)
			continue
		}
		var keys []string
		for k := range ks {
			keys = append(keys, k)
			switch {
			case g == gRandomState:
				assert.True(t, randomStateKeys[k], "%s.%s", g, k)
			case reduced[g] != nil:
				assert.True(t, reduced[g].state[k], "%s.%s", g, k)
			default:
				assert.True(t, classes[g].keys[k], "%s.%s", g, k)
			}
		}
		sort.Strings(keys)
		out = append(out, fmt.Sprintf("\t{Global{%q, %q}, false, %q},", g.Module, g.Name, strings.Join(keys, " ")))
	}
	sort.Strings(out)
	if os.Getenv("PICKLE_LEARN_DIR") != "" {
		fmt.Println(strings.Join(out, "\n"))
	}
	assert.GreaterOrEqual(t, len(seen), 40, "classes seen in the fixtures")
}
