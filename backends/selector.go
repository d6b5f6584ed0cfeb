package backends

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
)

// ParseSelector parses a -l label selector in kubectl's syntax, equality-
// and set-based ("team=data,tier!=test", "env in (a,b)", "!canary"), with
// apimachinery's own parser, so it means exactly what it means to kubectl.
// "" selects everything.
func ParseSelector(s string) (labels.Selector, error) {
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid label selector %q: %w", s, err)
	}
	return sel, nil
}

// Matches reports whether a job's labels satisfy sel; a nil sel matches
// everything.
func Matches(sel labels.Selector, jobLabels map[string]string) bool {
	return sel == nil || sel.Matches(labels.Set(jobLabels))
}
