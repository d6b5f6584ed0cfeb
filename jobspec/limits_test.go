package jobspec

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

const (
	aliasBytesMsg = "YAML aliases expand the manifest to more than 4194304 bytes of keys and values (the limit); refusing the manifest"
	nodesMsg      = "manifest has more than 100000 nodes (the limit); refusing the manifest"
)

// argsJob is a valid Job whose only container has the given flow-style args
// on line 12.
func argsJob(args string) string {
	return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n" +
		"      restartPolicy: Never\n      containers:\n        - name: a\n          image: b\n" +
		"          command: [echo]\n          args: [" + args + "]\n"
}

// mustRefuse parses src and wants exactly the one error want.
func mustRefuse(t *testing.T, src, want string) {
	t.Helper()
	err := parseWithin(t, 2*time.Second, strings.NewReader(src))
	if err == nil {
		t.Fatalf("accepted; want %s", want)
	}
	if err.Error() != want {
		t.Fatalf("got\n%.1000s\nwant\n%s", err, want)
	}
}

// at is "job.yaml:LINE:COL" of the oracle's crossing point.
func at(o *sizeOracle) string {
	if o.hit == nil {
		return "job.yaml: no crossing"
	}
	return fmt.Sprintf("job.yaml:%d:%d", o.hit.Line, o.hit.Column)
}

// The byte limit is exact: a manifest decoding to MaxDecodedBytes passes, one
// byte more is refused at the alias that crossed it.
func TestDecodedBytesLimitIsExact(t *testing.T) {
	build := func(pad, anchor int) string {
		return argsJob(`"` + strings.Repeat("p", pad) + `", &a "` + strings.Repeat("x", anchor) + `", *a, *a, *a`)
	}
	free := MaxDecodedBytes - decodedSize(build(0, 0)).bytes
	anchor, pad := free/4, free%4
	src := build(pad, anchor)
	if o := decodedSize(src); o.bytes != MaxDecodedBytes || o.hit != nil {
		t.Fatalf("test input decodes to %d bytes, want %d", o.bytes, MaxDecodedBytes)
	}
	j, err := Parse("job.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("refused a manifest of exactly MaxDecodedBytes: %.300v", err)
	}
	if got := len(strings.Join(j.Template.Containers[0].Args, "")); got != pad+4*anchor {
		t.Errorf("args hold %d bytes, want %d", got, pad+4*anchor)
	}

	src = build(pad+1, anchor)
	o := decodedSize(src)
	lastAlias := strings.LastIndex(src, "*a") - strings.LastIndex(src[:strings.LastIndex(src, "*a")], "\n")
	if want := fmt.Sprintf("job.yaml:12:%d", lastAlias); at(o) != want {
		t.Fatalf("oracle crosses at %s, want %s", at(o), want)
	}
	mustRefuse(t, src, at(o)+": spec.template.spec.containers[0].args[4]: "+aliasBytesMsg)
}

// The node limit is exact too, and counts nodes written out as well as
// those aliases bring in.
func TestDecodedNodesLimitIsExact(t *testing.T) {
	build := func(n int) string { return argsJob(strings.TrimSuffix(strings.Repeat("a, ", n), ", ")) }
	free := MaxDecodedNodes - decodedSize(build(0)).nodes
	if _, err := Parse("job.yaml", strings.NewReader(build(free))); err != nil {
		t.Fatalf("refused a manifest of exactly MaxDecodedNodes: %.300v", err)
	}
	src := build(free + 1)
	o := decodedSize(src)
	if want := fmt.Sprintf("job.yaml:12:%d", len("          args: [")+3*free+1); at(o) != want {
		t.Fatalf("oracle crosses at %s, want %s", at(o), want)
	}
	mustRefuse(t, src, fmt.Sprintf("%s: spec.template.spec.containers[0].args[%d]: %s", at(o), free, nodesMsg))
}

// Without aliases, text cannot reach the byte limit within the file cap:
// the escapes that grow most ("\L", "\P": 2 bytes for 3) give 1.5×.
func TestAliasFreeTextStaysUnderTheByteLimit(t *testing.T) {
	head := argsJob(`"`)
	n := (MaxManifestBytes - len(head) - 3) / 2
	src := head[:len(head)-2] + strings.Repeat(`\L`, n) + `"]` + "\n"
	if len(src) > MaxManifestBytes {
		t.Fatalf("test input is %d bytes", len(src))
	}
	j, err := Parse("job.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("refused: %.300v", err)
	}
	if got := len(j.Template.Containers[0].Args[0]); got != 3*n || got <= MaxManifestBytes {
		t.Errorf("arg is %d bytes, want %d (more than the file)", got, 3*n)
	}
}

// The hostile tester's cases, and the same expansion through merge keys and
// mapping keys: refused at the crossing alias, quickly, allocating little.
func TestDecodedSizeBombs(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	refs := func(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+", ", n), ", ") }
	containers := func(body string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n" +
			"      restartPolicy: Never\n      containers:\n" + body
	}
	tests := []struct {
		name, src, field, msg string
		maxAlloc              uint64 // bytes Parse may allocate in all
	}{
		{"1000-byte anchor referenced 100000 times (400 KB)",
			argsJob("&a " + big(1000) + ", " + refs("*a", 100_000)),
			"spec.template.spec.containers[0].args[4194]", aliasBytesMsg, 48 << 20},
		{"1 MiB anchor referenced 1000 times",
			argsJob("&a " + big(1<<20) + ", " + refs("*a", 1000)),
			"spec.template.spec.containers[0].args[3]", aliasBytesMsg, 48 << 20},
		{"1 MiB value merged into 1000 containers",
			containers("        - &c {name: a, image: b, command: [x], workingDir: " + big(1<<20) + "}\n" +
				strings.Repeat("        - {<<: *c, name: b}\n", 1000)),
			"spec.template.spec.containers[3]", aliasBytesMsg, 48 << 20},
		{"1 MiB mapping key used 1000 times",
			"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\n  managedFields:\n    - fieldsV1:\n" +
				"        k:\n          ? &k " + big(1<<20) + "\n          : 1\n        l: [" + refs("{*k : 1}", 1000) + "]\n",
			"metadata.managedFields[0].fieldsV1[l][2]", aliasBytesMsg, 48 << 20},
		{"tiny containers aliased 100000 times",
			containers("        - &c {}\n        - " + strings.Repeat("*c\n        - ", 100_000) + "*c\n"),
			"spec.template.spec.containers[99981]", aliasNodesMsg, 96 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) > MaxManifestBytes {
				t.Fatalf("test input is %d bytes: it would be refused for its size", len(tt.src))
			}
			// The oracle reads a merge as a plain key and alias: a few bytes
			// off, which cannot move a crossing made of 1 MiB values.
			o := decodedSize(tt.src)
			if o.hit == nil || tt.src[lineStart(tt.src, o.hit.Line)+o.hit.Column-1] != '*' {
				t.Fatalf("oracle: no crossing at an alias (%s)", at(o))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			mustRefuse(t, tt.src, at(o)+": "+tt.field+": "+tt.msg)
			runtime.ReadMemStats(&after)
			t.Logf("allocated %d KiB", (after.TotalAlloc-before.TotalAlloc)>>10)
			if got := after.TotalAlloc - before.TotalAlloc; got > tt.maxAlloc {
				t.Errorf("Parse allocated %d MiB, want at most %d MiB", got>>20, tt.maxAlloc>>20)
			}
		})
	}
}

// lineStart is the offset of 1-based line n in s.
func lineStart(s string, n int) int {
	off := 0
	for range n - 1 {
		off += strings.IndexByte(s[off:], '\n') + 1
	}
	return off
}
