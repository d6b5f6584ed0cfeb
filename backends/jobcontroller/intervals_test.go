package jobcontroller

import (
	"testing"
	"time"
)

func TestIntervalsString(t *testing.T) {
	for _, tc := range []struct {
		indexes []int
		want    string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{1, 3, 4, 5}, "1,3-5"},
		{[]int{3, 4}, "3,4"}, // orderedIntervals.String: a dash only for three or more
		{[]int{0, 1, 2, 4, 6, 7, 9}, "0-2,4,6,7,9"},
	} {
		if got := intervals(nil).withIndexes(tc.indexes).String(); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.indexes, got, tc.want)
		}
	}
}

func TestIntervalsMergeAndParse(t *testing.T) {
	a := parseIntervals("0-2,7", 10)
	b := parseIntervals("3,5-6,9-20", 10) // clipped to completions
	if got := a.merge(b).String(); got != "0-3,5-7,9" {
		t.Errorf("merge %q", got)
	}
	if n := a.merge(b).total(); n != 8 {
		t.Errorf("total %d", n)
	}
	if !a.has(2) || a.has(3) || !a.has(7) || a.has(8) {
		t.Error("has")
	}
}

func TestRemaining(t *testing.T) {
	base, limit := 10*time.Second, 10*time.Minute
	for failures, want := range []time.Duration{0, 10, 20, 40, 80, 160, 320, 600, 600} {
		if got := remaining(int32(failures), t0, t0, base, limit); got != want*time.Second {
			t.Errorf("%d failures: %v, want %v", failures, got, want*time.Second)
		}
	}
	if got := remaining(2, t0, t0.Add(15*time.Second), base, limit); got != 5*time.Second {
		t.Errorf("after 15s of 20s: %v", got)
	}
	if got := remaining(1, t0, t0.Add(10*time.Second), base, limit); got != 0 {
		t.Errorf("at the end: %v", got)
	}
}

func TestSuffix(t *testing.T) {
	for n, want := range map[int]string{0: "bbbbb", 1: "bbbbc", 27: "bbbcb", 26: "bbbb9"} {
		if got := suffix(n); got != want {
			t.Errorf("suffix(%d) = %q, want %q", n, got, want)
		}
	}
}
