package jobspec

import "strings"

// suggest returns the candidate closest to key by edit distance, or "" when
// none is close enough to be a plausible typo.
func suggest(key string, candidates []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(key)
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c)) // case slips count as free
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 {
		return ""
	}
	limit := max(2, len(key)/3)
	if bestDist > limit || bestDist >= len(key) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: keys are ASCII).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b)) // hostile keys: not worth the quadratic cost
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
