package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/modelvault/modelvault/registry"
	"github.com/modelvault/modelvault/registry/registryhttp"
)

func cmdModels() *command {
	return &command{
		name: "models", args: "", maxArgs: 0,
		summary: "list the models of a store that holds several",
		help: `Lists the models of a store that holds several, each kept under
models/NAME/ (registry.OpenModel): its name, how many versions it holds,
its deployed version and the estimator class (metadata.model_type) of the
deployed version, else of the newest. Address one with --model NAME; an
import with --model NAME into a new name creates it.`,
		run: runModels,
	}
}

func runModels(e *env, _ *cmdOpts, _ []string) error {
	store, closeStore, err := openStore(e.ctx, e.store)
	if err != nil {
		return err
	}
	defer closeStore()
	names, err := registry.Models(e.ctx, store)
	if err != nil {
		return err
	}
	policy, err := e.trustPolicy()
	if err != nil {
		return err
	}
	out := make([]registryhttp.ModelSummary, 0, len(names))
	for _, name := range names {
		reg, err := registry.OpenModel(e.ctx, store, name, &registry.Options{SkipOpenScan: true, Signers: policy})
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		out = append(out, summarize(name, reg.List(nil)))
		reg.Close()
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "models": out})
		return nil
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "no models under models/ (a store of one model: use the commands without --model)")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVERSIONS\tDEPLOYED\tESTIMATOR")
	for _, m := range out {
		deployed := m.Deployed
		if deployed == "" {
			deployed = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, m.Versions, safe(deployed), safe(m.ModelType))
	}
	tw.Flush()
	return nil
}

// summarize describes one model's versions (newest first) as GET
// /models-index does.
func summarize(name string, vs []*registry.Version) registryhttp.ModelSummary {
	s := registryhttp.ModelSummary{Name: name, Versions: len(vs)}
	var typed *registry.Version
	for _, v := range vs {
		if v.Deployed {
			s.Deployed, typed = v.Version, v
		}
	}
	if typed == nil && len(vs) > 0 {
		typed = vs[0]
	}
	if typed != nil {
		s.ModelType = typed.ModelType
	}
	return s
}
