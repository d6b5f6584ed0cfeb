package jobcontroller

import (
	"strconv"
	"strings"
)

// interval and intervals are indexed_job_utils.go's orderedIntervals: the
// compressed index sets of status.completedIndexes and failedIndexes.
type interval struct{ first, last int }

type intervals []interval

// withIndexes adds indexes given in increasing order.
func (oi intervals) withIndexes(indexes []int) intervals {
	add := make(intervals, len(indexes))
	for i, x := range indexes {
		add[i] = interval{x, x}
	}
	return oi.merge(add)
}

func (oi intervals) merge(other intervals) intervals {
	var out intervals
	push := func(iv interval) {
		if n := len(out); n == 0 || iv.first > out[n-1].last+1 {
			out = append(out, iv)
		} else if out[n-1].last < iv.last {
			out[n-1].last = iv.last
		}
	}
	i, j := 0, 0
	for i < len(oi) && j < len(other) {
		if oi[i].first < other[j].first {
			push(oi[i])
			i++
		} else {
			push(other[j])
			j++
		}
	}
	for ; i < len(oi); i++ {
		push(oi[i])
	}
	for ; j < len(other); j++ {
		push(other[j])
	}
	return out
}

func (oi intervals) total() int {
	n := 0
	for _, iv := range oi {
		n += iv.last - iv.first + 1
	}
	return n
}

func (oi intervals) has(ix int) bool {
	for _, iv := range oi {
		if ix < iv.first {
			return false
		}
		if ix <= iv.last {
			return true
		}
	}
	return false
}

// String is Kubernetes' form. Note that two neighbours are written "3,4",
// not "3-4": orderedIntervals.String only uses a dash for three or more.
func (oi intervals) String() string {
	var b strings.Builder
	for _, iv := range oi {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(iv.first))
		switch {
		case iv.last == iv.first+1:
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(iv.last))
		case iv.last > iv.first:
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(iv.last))
		}
	}
	return b.String()
}

// parseIntervals is parseIndexesFromString: lenient, it skips what it cannot
// read and clips to completions.
func parseIntervals(s string, completions int) intervals {
	if s == "" {
		return nil
	}
	var out intervals
	for _, part := range strings.Split(s, ",") {
		limits := strings.Split(part, "-")
		var iv interval
		var err error
		if iv.first, err = strconv.Atoi(limits[0]); err != nil {
			continue
		}
		if iv.first >= completions {
			break
		}
		iv.last = iv.first
		if len(limits) > 1 {
			if iv.last, err = strconv.Atoi(limits[1]); err != nil {
				continue
			}
			iv.last = min(iv.last, completions-1)
		}
		if n := len(out); n > 0 && out[n-1].last == iv.first-1 {
			out[n-1].last = iv.last
		} else {
			out = append(out, iv)
		}
	}
	return out
}
