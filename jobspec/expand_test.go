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
	} {
		if got := ExpandRefs(in, lookup); got != want {
			t.Errorf("ExpandRefs(%q) = %q, want %q", in, got, want)
		}
	}
}
