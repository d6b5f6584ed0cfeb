package backends

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FormatIndexes writes completion indexes exactly as Kubernetes writes
// status.completedIndexes (pkg/controller/job orderedIntervals.String):
// sorted, a run of three or more as "a-b", a pair as "a,b", single ones
// alone: "1,3-5,7,8". Duplicates are dropped; none is "".
func FormatIndexes(idx []int32) string {
	idx = slices.Clone(idx)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(idx[i])))
		switch {
		case j == i+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(int(idx[j])))
		case j > i+1:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(idx[j])))
		}
		i = j + 1
	}
	return b.String()
}

// ParseIndexes reads the interval form ("1,3-5") back, sorted, each index
// below limit (limit ≤ 0: no limit).
func ParseIndexes(s string, limit int32) ([]int32, error) {
	var out []int32
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseInt(lo, 10, 32)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("index list %q: %q is not an index or a range a-b", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("index list %q: %q is not a range a-b with a ≤ b", s, part)
			}
		}
		if limit > 0 && b >= int64(limit) {
			return nil, fmt.Errorf("index list %q: %d is out of range: the job has indexes 0 to %d", s, b, limit-1)
		}
		for i := a; i <= b; i++ {
			out = append(out, int32(i))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
