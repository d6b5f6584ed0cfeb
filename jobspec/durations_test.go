package jobspec

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// wrapSeconds is n seconds in nanoseconds, reduced modulo 2^64 to a signed
// int64 with big integers: what Go's int64 multiplication does, computed
// another way.
func wrapSeconds(n int64) time.Duration {
	x := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(time.Second)))
	x.And(x, new(big.Int).SetUint64(math.MaxUint64)) // two's complement bits
	return time.Duration(int64(x.Uint64()))
}

func TestSecondsWrapsAsKubernetes(t *testing.T) {
	tests := []struct {
		n    int64
		want time.Duration
	}{
		{0, 0},
		{600, 10 * time.Minute},
		{-1, -time.Second},
		{math.MaxInt32, math.MaxInt32 * time.Second}, // the largest TTL or pod deadline: 68 years
		{9223372036, 9223372036 * time.Second},       // the largest that does not wrap
		{9223372037, -9223372036709551616},           // the hostile tester's value: about -292 years
		{18446744074, 290448384},                     // wraps to +290ms
		{math.MaxInt64, -1000000000},
		{math.MinInt64, 0},
	}
	for _, tt := range tests {
		if got := Seconds(tt.n); got != tt.want || got != wrapSeconds(tt.n) {
			t.Errorf("Seconds(%d) = %d, want %d (big: %d)", tt.n, got, tt.want, wrapSeconds(tt.n))
		}
	}
}

// The real Job controller (1.36.3, run against a fake clientset) fails a job
// with activeDeadlineSeconds 9223372037 at its first sync, before creating a
// pod, and one with 18446744074 about 291ms after its start time.
func TestPastDeadline(t *testing.T) {
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		seconds int64
		elapsed time.Duration
		want    bool
	}{
		{600, 0, false},
		{600, 600*time.Second - 1, false},
		{600, 600 * time.Second, true}, // >=, as pastActiveDeadline
		{0, 0, true},
		{9223372037, 0, true},
		{18446744074, 290448383, false},
		{18446744074, 290448384, true},
		{9223372036, 200 * 365 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		if got := PastDeadline(tt.seconds, start, start.Add(tt.elapsed)); got != tt.want {
			t.Errorf("PastDeadline(%d) after %v = %v, want %v", tt.seconds, tt.elapsed, got, tt.want)
		}
	}
}

// What Kubernetes' validation and decoding accept for the integer fields a
// duration is computed from; huge values it accepts are accepted here too.
func TestHugeIntegerFields(t *testing.T) {
	tmpl := func(field, value string) string {
		return valid("      restartPolicy: Never\n", "      restartPolicy: Never\n      "+field+": "+value+"\n")
	}
	job := func(field, value string) string { return valid("  completions: 1", "  "+field+": "+value) }
	tests := []struct {
		name, src, want string // want "" : accepted
	}{
		{"job deadline that overflows a Duration", job("activeDeadlineSeconds", "9223372037"), ""},
		{"job deadline at MaxInt64", job("activeDeadlineSeconds", "9223372036854775807"), ""},
		{"job deadline 0", job("activeDeadlineSeconds", "0"), ""},
		{"job deadline beyond int64", job("activeDeadlineSeconds", "9223372036854775808"),
			"job.yaml:6:26: spec.activeDeadlineSeconds: integer 9223372036854775808 is out of range"},
		{"job deadline as a float", job("activeDeadlineSeconds", "9.3e18"),
			"job.yaml:6:26: spec.activeDeadlineSeconds: expected an integer, got number 9.3e18"},
		{"ttl at MaxInt32", job("ttlSecondsAfterFinished", "2147483647"), ""},
		{"ttl beyond int32", job("ttlSecondsAfterFinished", "2147483648"),
			"job.yaml:6:28: spec.ttlSecondsAfterFinished: integer 2147483648 is out of range [-2147483648, 2147483647]"},
		{"backoffLimit at MaxInt32", job("backoffLimit", "2147483647"), ""},
		{"backoffLimit beyond int32", job("backoffLimit", "9223372037"),
			"job.yaml:6:17: spec.backoffLimit: integer 9223372037 is out of range [-2147483648, 2147483647]"},
		{"pod deadline at MaxInt32", tmpl("activeDeadlineSeconds", "2147483647"), ""},
		{"pod deadline beyond MaxInt32", tmpl("activeDeadlineSeconds", "9223372037"),
			"job.yaml:10:30: spec.template.spec.activeDeadlineSeconds: must be between 1 and 2147483647, inclusive, got 9223372037"},
		{"pod deadline 0", tmpl("activeDeadlineSeconds", "0"),
			"job.yaml:10:30: spec.template.spec.activeDeadlineSeconds: must be between 1 and 2147483647, inclusive, got 0"},
		{"grace period that overflows a Duration", tmpl("terminationGracePeriodSeconds", "9223372037"), ""},
		{"negative grace period", tmpl("terminationGracePeriodSeconds", "-5"), ""}, // a warning in Kubernetes; treated as 1
		{"startingDeadlineSeconds is a CronJob field", job("startingDeadlineSeconds", "9223372037"),
			"job.yaml:6:3: spec.startingDeadlineSeconds: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("job.yaml", strings.NewReader(tt.src))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
