//go:build unix

package nomad_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/remote"
)

// A task printing one 3 MiB line: the log reader passes it on in pieces of
// at most remote.MaxLine (never holding it whole), which join up to the
// exact line — read afterwards and followed live.
func TestLogsLongLineInPieces(t *testing.T) {
	addr := devAgent(t).Addr
	b := newBackend(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const last = 470000
	nums := make([]string, last)
	for i := range nums {
		nums[i] = strconv.Itoa(i + 1)
	}
	want := strings.Join(nums, ",") // `seq -s, 1 470000`: 3 178 894 bytes, over 3 MiB
	if len(want) <= 3<<20 {
		t.Fatalf("the line is %d bytes, not over 3 MiB", len(want))
	}
	st, err := b.Submit(ctx, parseJob(t, `apiVersion: batch/v1
kind: Job
metadata: {name: long-line}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["seq", "-s,", "1", "`+strconv.Itoa(last)+`"]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ref := backends.Ref{Name: st.Name, Namespace: st.Namespace}
	defer b.Delete(context.Background(), ref)

	var followed pieces
	if err := b.Logs(ctx, ref, backends.LogOptions{Follow: true}, &followed); err != nil {
		t.Fatalf("Logs -f: %v", err)
	}
	var read pieces
	if err := b.Logs(ctx, ref, backends.LogOptions{}, &read); err != nil {
		t.Fatalf("Logs: %v", err)
	}
	for name, p := range map[string]*pieces{"followed": &followed, "read": &read} {
		if len(p.lines) != 1 || p.lines[0] != want {
			got := 0
			if len(p.lines) > 0 {
				got = len(p.lines[0])
			}
			t.Errorf("%s: %d lines, the first %d bytes; want the one %d-byte line, byte for byte", name, len(p.lines), got, len(want))
		}
		if p.longest > remote.MaxLine || p.parts < 3 {
			t.Errorf("%s: %d pieces, the longest %d bytes; want pieces of at most %d", name, p.parts+1, p.longest, remote.MaxLine)
		}
	}
}
