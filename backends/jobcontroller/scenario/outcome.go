package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Phases of an Outcome.
const (
	Succeeded = "Succeeded"
	Failed    = "Failed"
)

// NonIndexedKey is the Starts key of a NonIndexed job.
const NonIndexedKey = "*"

// Outcome is a finished job, normalized so that runs on different platforms
// compare equal when the Job controller would have decided the same.
type Outcome struct {
	Phase string `yaml:"phase"` // Succeeded or Failed
	// Reason is the Failed condition's reason (BackoffLimitExceeded,
	// DeadlineExceeded, PodFailurePolicy, FailedIndexes,
	// MaxFailedIndexesExceeded); "" when the job succeeded.
	Reason           string `yaml:"reason"`
	Succeeded        int32  `yaml:"succeeded"`
	Failed           int32  `yaml:"failed"`
	CompletedIndexes string `yaml:"completedIndexes"`
	FailedIndexes    string `yaml:"failedIndexes"`
	// Starts counts pods created plus in-place container restarts per
	// completion index ("0", "1", ...), or NonIndexedKey.
	Starts map[string]int `yaml:"starts"`
}

// IndexKey is the Starts key of index (nil: NonIndexed).
func IndexKey(index *int32) string {
	if index == nil {
		return NonIndexedKey
	}
	return strconv.Itoa(int(*index))
}

func (o *Outcome) validate() error {
	if o.Phase != Succeeded && o.Phase != Failed {
		return fmt.Errorf("phase must be %s or %s, got %q", Succeeded, Failed, o.Phase)
	}
	if (o.Phase == Succeeded) != (o.Reason == "") {
		return fmt.Errorf("reason is set exactly when the phase is Failed")
	}
	for _, s := range []string{o.CompletedIndexes, o.FailedIndexes} {
		if _, err := ParseIntervals(s); err != nil {
			return err
		}
	}
	for k := range o.Starts {
		if _, err := strconv.Atoi(k); err != nil && k != NonIndexedKey {
			return fmt.Errorf("starts: key %q is neither an index nor %q", k, NonIndexedKey)
		}
	}
	return nil
}

// Diff describes how got differs from o, the expectation, one field a line;
// "" when they are the same.
func (o Outcome) Diff(got Outcome) string {
	var b strings.Builder
	field := func(name string, want, got any) {
		if fmt.Sprint(want) != fmt.Sprint(got) {
			fmt.Fprintf(&b, "%s: want %q, got %q\n", name, fmt.Sprint(want), fmt.Sprint(got))
		}
	}
	field("phase", o.Phase, got.Phase)
	field("reason", o.Reason, got.Reason)
	field("succeeded", o.Succeeded, got.Succeeded)
	field("failed", o.Failed, got.Failed)
	field("completedIndexes", o.CompletedIndexes, got.CompletedIndexes)
	field("failedIndexes", o.FailedIndexes, got.FailedIndexes)
	for _, k := range startKeys(o.Starts, got.Starts) {
		w, wok := o.Starts[k]
		g, gok := got.Starts[k]
		if w != g || wok != gok {
			fmt.Fprintf(&b, "starts[%s]: want %s, got %s\n", k, count(w, wok), count(g, gok))
		}
	}
	return b.String()
}

func count(n int, ok bool) string {
	if !ok {
		return "none"
	}
	return strconv.Itoa(n)
}

// startKeys is the union of the maps' keys, "*" first, then indexes in
// numeric order.
func startKeys(ms ...map[string]int) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, aerr := strconv.Atoi(keys[i])
		b, berr := strconv.Atoi(keys[j])
		switch {
		case aerr != nil && berr != nil:
			return keys[i] < keys[j]
		case aerr != nil || berr != nil:
			return aerr != nil
		}
		return a < b
	})
	return keys
}

// YAML renders o as the expect: block, fields always in the same order.
func (o Outcome) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "expect:\n")
	fmt.Fprintf(&b, "  phase: %s\n", o.Phase)
	fmt.Fprintf(&b, "  reason: %s\n", quote(o.Reason))
	fmt.Fprintf(&b, "  succeeded: %d\n", o.Succeeded)
	fmt.Fprintf(&b, "  failed: %d\n", o.Failed)
	fmt.Fprintf(&b, "  completedIndexes: %q\n", o.CompletedIndexes)
	fmt.Fprintf(&b, "  failedIndexes: %q\n", o.FailedIndexes)
	var parts []string
	for _, k := range startKeys(o.Starts) {
		parts = append(parts, fmt.Sprintf("%q: %d", k, o.Starts[k]))
	}
	fmt.Fprintf(&b, "  starts: {%s}\n", strings.Join(parts, ", "))
	return b.String()
}

// quote writes s as a YAML scalar: plain when safe, else double-quoted.
func quote(s string) string {
	if s == "" || strings.ContainsAny(s, ",:#{}[]'\"") {
		return strconv.Quote(s)
	}
	return s
}

// Intervals formats sorted, distinct indexes the way job.status does:
// "1,3-5"; two neighbours are "7,8", not a range (the Job controller's
// orderedIntervals.String).
func Intervals(indexes []int) string {
	var parts []string
	for i := 0; i < len(indexes); {
		j := i
		for j+1 < len(indexes) && indexes[j+1] == indexes[j]+1 {
			j++
		}
		switch j - i {
		case 0:
			parts = append(parts, strconv.Itoa(indexes[i]))
		case 1:
			parts = append(parts, strconv.Itoa(indexes[i]), strconv.Itoa(indexes[j]))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", indexes[i], indexes[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseIntervals is the inverse of Intervals.
func ParseIntervals(s string) ([]int, error) {
	var out []int
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || len(out) > 0 && a <= out[len(out)-1] {
			return nil, fmt.Errorf("bad index intervals %q", s)
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}
