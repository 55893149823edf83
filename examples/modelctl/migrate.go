package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/modelvault/modelvault/registry"
)

func cmdMigrate() *command {
	names := map[string]string{}
	return &command{
		name: "migrate", args: "[--name OLD=NEW ...]", maxArgs: 0,
		summary: "split a store of the old layout into one registry per model",
		help: `Splits a store whose log was written when a registry grouped versions by
model name (opening it fails with legacy_layout) into one registry per model
under models/NAME/: each version's files are copied and checked against their
SHA-256, registered with their original records, and each model's
deployments are made again in order (so rollbacks walk back as before). The old log and files are left in place:
check the result ('modelctl --model NAME list'), then remove the model_*/ and
_registry/ keys at the top of the store. Running it again resumes.

A model name becomes itself in lower case; --name OLD=NEW renames one (names
are 1-64 characters of a-z, 0-9, '.', '_', '-').`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.Func("name", "rename a model: OLD=NEW (repeatable)", func(s string) error {
				old, name, ok := strings.Cut(s, "=")
				if !ok || old == "" || name == "" {
					return fmt.Errorf("want OLD=NEW, got %q", s)
				}
				names[old] = name
				return nil
			})
		},
		run: func(e *env, o *cmdOpts, args []string) error {
			store, closeStore, err := openStore(e.ctx, e.store)
			if err != nil {
				return err
			}
			defer closeStore()
			signers, err := e.trustPolicy()
			if err != nil {
				return err
			}
			got, err := registry.Migrate(e.ctx, store, &registry.MigrateOptions{
				Caller:  *e.caller(),
				Names:   names,
				Options: &registry.Options{Signers: signers},
			})
			if err != nil {
				return err
			}
			if e.json {
				writeJSON(e.stdout, map[string]any{"ok": true, "models": got})
				return nil
			}
			for _, m := range got {
				deployed := m.Deployed
				if deployed == "" {
					deployed = "nothing"
				}
				plural := "s"
				if len(m.Versions) == 1 {
					plural = ""
				}
				fmt.Fprintf(e.stdout, "%s -> models/%s/: %d version%s, %s deployed\n", safe(m.From), m.Name, len(m.Versions), plural, safe(deployed))
			}
			fmt.Fprintln(e.stdout, "the old log and files are still in place: check the models, then remove model_*/ and _registry/ at the top of the store")
			return nil
		},
	}
}
