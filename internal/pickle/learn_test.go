package pickle

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLearnSchemas prints the classes and BUILD keys of the files in
// $PICKLE_LEARN_DIR (a development aid for schema_classes.go).
func TestLearnSchemas(t *testing.T) {
	dir := os.Getenv("PICKLE_LEARN_DIR")
	if dir == "" {
		t.Skip("PICKLE_LEARN_DIR not set")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	seen := map[Global]map[string]bool{}
	for _, name := range files {
		f, err := os.Open(name)
		require.NoError(t, err)
		o := (&Options{}).withDefaults()
		m := newMachine(context.Background(), o, false)
		m.learn = func(g Global, k string) {
			if seen[g] == nil {
				seen[g] = map[string]bool{}
			}
			seen[g][k] = true
		}
		_, _, err = runWith(m, f, o, runFlags{checkRoot: true})
		f.Close()
		if err != nil {
			t.Logf("%s: %v", name, err)
		}
	}
	var out []string
	for g, ks := range seen {
		var keys []string
		for k := range ks {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, fmt.Sprintf("%s\t%s", g, strings.Join(keys, " ")))
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Println(l)
	}
}
