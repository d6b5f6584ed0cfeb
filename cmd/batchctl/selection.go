package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/batchctl/batchctl/backends"
)

// selection is the jobs a command acts on: named ones (NAME...), or those
// matching -l, or --all; --phase narrows it down.
type selection struct {
	refs          []backends.Ref
	selector      labels.Selector
	all           bool
	allNamespaces bool
	phases        []backends.Phase
}

func selectionFlags(verb string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "selector", Aliases: []string{"l"}, Usage: verb + " the jobs matching this label selector (kubectl syntax)"},
		&cli.BoolFlag{Name: "all", Usage: verb + " every job batchctl manages in the namespace"},
		&cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "with -l or --all: in every namespace"},
		&cli.StringFlag{Name: "phase", Usage: "only jobs in these phases: Pending, Running, Succeeded, Failed (comma-separated)"},
	}
}

// parseSelection reads NAME arguments or -l/--all, exactly one of them.
func parseSelection(c *cli.Context, s settings, verb string) (selection, error) {
	sel := selection{all: c.Bool("all"), allNamespaces: c.Bool("all-namespaces")}
	phases, err := parsePhases(c.String("phase"))
	if err != nil {
		return sel, err
	}
	sel.phases = phases
	ways := 0
	if c.NArg() > 0 {
		ways++
		for _, a := range c.Args().Slice() {
			sel.refs = append(sel.refs, refFor(a, s))
		}
	}
	if c.IsSet("selector") {
		ways++
		if sel.selector, err = backends.ParseSelector(c.String("selector")); err != nil {
			return sel, usageError{err.Error()}
		}
	}
	if sel.all {
		ways++
	}
	switch {
	case ways == 0 && len(phases) > 0:
		sel.all = true // --phase alone: every job in those phases
	case ways == 0:
		return sel, usagef("%s: name the jobs (NAME...), or select them with -l SELECTOR or --all", verb)
	case ways > 1:
		return sel, usagef("%s: NAME arguments, -l and --all cannot be combined", verb)
	}
	if sel.allNamespaces && len(sel.refs) > 0 {
		return sel, usagef("%s: -A goes with -l or --all; name jobs in other namespaces as NAMESPACE/NAME", verb)
	}
	return sel, nil
}

func parsePhases(s string) ([]backends.Phase, error) {
	var out []backends.Phase
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		ph := backends.Phase(strings.ToUpper(p[:1]) + strings.ToLower(p[1:]))
		if !slices.Contains([]backends.Phase{backends.Pending, backends.Running, backends.Succeeded, backends.Failed}, ph) {
			return nil, usagef("--phase %q: want Pending, Running, Succeeded or Failed", p)
		}
		out = append(out, ph)
	}
	return out, nil
}

// listOptions is what List needs to see every job the selection may hold.
func (sel selection) listOptions(s settings) backends.ListOptions {
	o := backends.ListOptions{Namespace: s.Namespace, AllNamespaces: sel.allNamespaces, Selector: sel.selector}
	for _, r := range sel.refs {
		if r.Namespace != "" && r.Namespace != s.Namespace {
			o.AllNamespaces = true // named jobs in several namespaces
		}
	}
	return o
}

// matches reports whether st is one of the selected jobs.
func (sel selection) matches(st *backends.Status, defaultNS string) bool {
	if len(sel.phases) > 0 && !slices.Contains(sel.phases, st.Phase) {
		return false
	}
	if len(sel.refs) == 0 {
		return true
	}
	for _, r := range sel.refs {
		ns := r.Namespace
		if ns == "" {
			ns = defaultNS
		}
		if r.Name == st.Name && ns == st.Namespace {
			return true
		}
	}
	return false
}

// resolve lists the selected jobs now. Named jobs that do not exist are
// returned as missing.
func (sel selection) resolve(ctx context.Context, b backends.Backend, s settings) (found []*backends.Status, missing []backends.Ref, err error) {
	all, err := b.List(ctx, sel.listOptions(s))
	if err != nil {
		return nil, nil, err
	}
	found, missing = sel.pick(all, defaultNamespace(s, b))
	return found, missing, nil
}

// pick finds the selected jobs in a list of them all, and the named ones
// it lacks.
func (sel selection) pick(all []*backends.Status, ns string) (found []*backends.Status, missing []backends.Ref) {
	for _, st := range all {
		if sel.matches(st, ns) {
			found = append(found, st)
		}
	}
	for _, r := range sel.refs {
		if !slices.ContainsFunc(found, func(st *backends.Status) bool { return sel.sameJob(r, st, ns) }) {
			if len(sel.phases) == 0 {
				missing = append(missing, r)
			}
		}
	}
	return found, missing
}

func (sel selection) sameJob(r backends.Ref, st *backends.Status, ns string) bool {
	if r.Namespace == "" {
		r.Namespace = ns
	}
	return r.Name == st.Name && r.Namespace == st.Namespace
}

func defaultNamespace(s settings, b backends.Backend) string {
	if s.Namespace != "" {
		return s.Namespace
	}
	return b.Info().DefaultNamespace
}

// watchJobs calls fn with every job List reports, on every change, until
// fn returns true or ctx ends: through the backend's ListWatcher (one watch
// for all), else by polling List.
func watchJobs(ctx context.Context, b backends.Backend, opts backends.ListOptions, fn func([]*backends.Status) bool) error {
	if lw, ok := b.(backends.ListWatcher); ok {
		return lw.WatchList(ctx, opts, fn)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		sts, err := b.List(ctx, opts)
		if err != nil {
			return err
		}
		if fn(sts) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// jobKey names a job for the maps of a many-job command.
func jobKey(st *backends.Status) string { return st.Namespace + "/" + st.Name + "/" + st.UID }

// outcomeLine is the one-line result of a finished job, for stderr.
func outcomeLine(name string, st *backends.Status) string {
	switch st.Phase {
	case backends.Succeeded:
		return fmt.Sprintf("job/%s succeeded (%d/%d)", name, st.Succeeded, st.Completions)
	case backends.Failed:
		msg := fmt.Sprintf("job/%s failed", name)
		if st.Reason != "" {
			msg += ": " + st.Reason
		}
		if st.Message != "" {
			msg += ": " + st.Message
		}
		return msg
	}
	return fmt.Sprintf("job/%s %s", name, st.Phase)
}
