package jobspec

import "testing"

func TestExpandRefs(t *testing.T) {
	vars := map[string]string{"A": "1", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"plain":      "plain",
		"$(A)":       "1",
		"x$(A)y$(A)": "x1y1",
		"$$(A)":      "$(A)",
		"$(MISSING)": "$(MISSING)",
		"$(EMPTY)-":  "-",
		"$(A":        "$(A",
		"cost $5":    "cost $5",
		"trailing $": "trailing $",
		"${A} $A":    "${A} $A",
		"$$$(A)":     "$1",
		"$(A$(A)":    "$(A$(A)", // the name runs to the first ")"
		"$(A $$":     "$(A $",   // an unclosed "$(" is kept, and what follows expands
		"$\xff":      "$\uFFFD", // as the kubelet, which decodes the rune after a lone $
	} {
		if got := ExpandRefs(in, lookup); got != want {
			t.Errorf("ExpandRefs(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzExpandRefs: ExpandRefs agrees with the kubelet's expansion
// (kubeExpand) for any string and any defined variable.
func FuzzExpandRefs(f *testing.F) {
	f.Fuzz(func(t *testing.T, s, name, value string) {
		vars := map[string]string{name: value}
		got := ExpandRefs(s, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
		if want := kubeExpand(s, vars); got != want {
			t.Fatalf("ExpandRefs(%q) with %s=%q = %q, Kubernetes gives %q", s, name, value, got, want)
		}
	})
}
