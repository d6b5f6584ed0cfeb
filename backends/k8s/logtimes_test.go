package k8s

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The kubelet's timestamps (PodLogOptions.Timestamps) are cut off each line
// and parsed; pieces of a long line all carry their line's time, cut where
// the same line read without timestamps is cut.
func TestReadLogLinesStamped(t *testing.T) {
	type got struct {
		At   string
		Line string
	}
	at := func(s string) string {
		if s == "" {
			return ""
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC().Format(time.RFC3339Nano)
	}
	const limit = 10
	for _, tc := range []struct {
		name, in string
		want     []got
	}{{
		name: "lines",
		in:   "2026-11-30T10:00:00.123456789Z hello\n2026-11-30T10:00:01.000000000Z world\n",
		want: []got{{at("2026-11-30T10:00:00.123456789Z"), "hello"}, {at("2026-11-30T10:00:01Z"), "world"}},
	}, {
		name: "empty line, spaces kept",
		in:   "2026-11-30T10:00:00.5Z \n2026-11-30T10:00:00.6Z  two  \n",
		want: []got{{at("2026-11-30T10:00:00.5Z"), ""}, {at("2026-11-30T10:00:00.6Z"), " two  "}},
	}, {
		name: "the runtime's zone, read as UTC",
		in:   "2026-11-30T11:00:00.000000001+01:00 x\n",
		want: []got{{"2026-11-30T10:00:00.000000001Z", "x"}},
	}, {
		name: "a long line: one time, pieces of the line alone",
		in:   "2026-11-30T10:00:02.000000000Z 0123456789ABCDEFGHIJK\n2026-11-30T10:00:03.000000000Z z",
		want: []got{
			{at("2026-11-30T10:00:02Z"), "0123456789"}, {at("2026-11-30T10:00:02Z"), "ABCDEFGHIJ"}, {at("2026-11-30T10:00:02Z"), "K"},
			{at("2026-11-30T10:00:03Z"), "z"},
		},
	}, {
		name: "a line exactly the limit",
		in:   "2026-11-30T10:00:04Z 0123456789\n",
		want: []got{{at("2026-11-30T10:00:04Z"), "0123456789"}},
	}, {
		name: "the kubelet's own message has no timestamp",
		in:   "unable to retrieve container logs for containerd://abc\n",
		want: []got{{"", "unable to "}, {"", "retrieve c"}, {"", "ontainer l"}, {"", "ogs for co"}, {"", "ntainerd:/"}, {"", "/abc"}},
	}, {
		name: "not a timestamp",
		in:   "2026-13-45T99:00:00Z x\nnospace\n",
		want: []got{{"", "2026-13-45"}, {"", "T99:00:00Z"}, {"", " x"}, {"", "nospace"}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var out []got
			err := readLogLines(iotest.OneByteReader(strings.NewReader(tc.in)), limit, true, func(tm time.Time, line []byte) {
				g := got{Line: string(line)}
				if !tm.IsZero() {
					if tm.Location() != time.UTC {
						t.Errorf("time %v not in UTC", tm)
					}
					g.At = tm.Format(time.RFC3339Nano)
				}
				out = append(out, g)
			})
			if err != nil || !reflect.DeepEqual(out, tc.want) {
				t.Errorf("readLogLines(%q) = %q, %v; want %q", tc.in, out, err, tc.want)
			}
		})
	}

	// A 3 MiB line through the real limit: the same pieces as without
	// timestamps, every one with the line's time.
	big := strings.Repeat("z", 3<<20+5)
	var sizes []int
	var times []time.Time
	in := "2026-11-30T10:00:00.000000007Z " + big + "\n2026-11-30T10:00:01.000000000Z end"
	if err := readLogLines(strings.NewReader(in), maxLine, true, func(tm time.Time, l []byte) {
		sizes, times = append(sizes, len(l)), append(times, tm)
	}); err != nil {
		t.Fatal(err)
	}
	if want := []int{1 << 20, 1 << 20, 1 << 20, 5, 3}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("sizes %v, want %v", sizes, want)
	}
	line := time.Date(2026, 11, 30, 10, 0, 0, 7, time.UTC)
	for i, tm := range times[:4] {
		if !tm.Equal(line) {
			t.Errorf("piece %d at %v, want %v", i, tm, line)
		}
	}
	// Unstamped, a line that looks stamped is left whole.
	var plain []string
	if err := readLogLines(strings.NewReader("2026-11-30T10:00:00Z x\n"), maxLine, false, func(tm time.Time, l []byte) {
		if !tm.IsZero() {
			t.Errorf("unstamped log: time %v", tm)
		}
		plain = append(plain, string(l))
	}); err != nil || !reflect.DeepEqual(plain, []string{"2026-11-30T10:00:00Z x"}) {
		t.Errorf("unstamped: %q, %v", plain, err)
	}
}

func TestCutTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in, at, rest string
	}{
		{"2026-11-30T10:00:00.000000000Z a b", "2026-11-30T10:00:00Z", "a b"},
		{"2026-11-30T10:00:00Z ", "2026-11-30T10:00:00Z", ""},
		{"2026-11-30T04:00:00.25-06:00 x", "2026-11-30T10:00:00.25Z", "x"},
		{"2026-11-30T10:00:00Z", "", "2026-11-30T10:00:00Z"}, // no space: no timestamp
		{"hello world", "", "hello world"},
		{"", "", ""},
		{strings.Repeat("x", 100) + " y", "", strings.Repeat("x", 100) + " y"},
	} {
		at, rest := cutTimestamp([]byte(tc.in))
		got := ""
		if !at.IsZero() {
			got = at.Format(time.RFC3339Nano)
		}
		if got != tc.at || string(rest) != tc.rest {
			t.Errorf("cutTimestamp(%q) = %q, %q; want %q, %q", tc.in, got, rest, tc.at, tc.rest)
		}
	}
}

// The log is asked for with timestamps and a sinceTime the API rounds down
// to the second: lines earlier in that second are skipped by their own
// time, and LogSource.At carries each line's time only with Times.
func TestCopyStreamSinceAndTimes(t *testing.T) {
	var queries []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/ns/pods/p/log" {
			t.Errorf("unexpected request %s", r.URL)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		queries = append(queries, r.URL.Query())
		// As the kubelet answers a sinceTime of 10:00:00: the whole second.
		io.WriteString(w, "2026-11-30T10:00:00.100000000Z before\n"+
			"2026-11-30T10:00:00.500000000Z at since\n"+
			"2026-11-30T10:00:00.900000000Z after\n"+
			"2026-11-30T10:00:01.000000000Z \n")
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+srv.URL+`"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bb, err := Open(Options{Kubeconfig: kubeconfig}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b := bb.(*backend)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	since := time.Date(2026, 11, 30, 10, 0, 0, 500_000_000, time.UTC)
	for _, tc := range []struct {
		s     stream
		query string
		want  []string
	}{{
		s:     stream{pod: pod, container: "main", since: since, times: true},
		query: "container=main&sinceTime=2026-11-30T10%3A00%3A00Z&timestamps=true",
		want:  []string{"2026-11-30T10:00:00.5Z at since", "2026-11-30T10:00:00.9Z after", "2026-11-30T10:00:01Z "},
	}, {
		s:     stream{pod: pod, container: "main", since: since},
		query: "container=main&sinceTime=2026-11-30T10%3A00%3A00Z&timestamps=true",
		want:  []string{"- at since", "- after", "- "},
	}, {
		s:     stream{pod: pod, container: "main", times: true},
		query: "container=main&timestamps=true",
		want: []string{"2026-11-30T10:00:00.1Z before", "2026-11-30T10:00:00.5Z at since", "2026-11-30T10:00:00.9Z after",
			"2026-11-30T10:00:01Z "},
	}} {
		queries = nil
		var s lineSink
		if err := b.copyStream(context.Background(), tc.s, false, &s); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range s.get() {
			at := "-"
			if !l.src.At.IsZero() {
				at = l.src.At.Format(time.RFC3339Nano)
			}
			got = append(got, at+" "+l.text)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("since %v, times %v: lines %q, want %q", tc.s.since, tc.s.times, got, tc.want)
		}
		if len(queries) != 1 || queries[0].Encode() != tc.query {
			t.Errorf("since %v, times %v: queries %v, want %s", tc.s.since, tc.s.times, queries, tc.query)
		}
	}
}
