package jobspec

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// parseWithin parses src, failing the test if that takes longer than limit.
func parseWithin(t *testing.T, limit time.Duration, r io.Reader) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Parse("job.yaml", r)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Parse did not finish within %v", limit)
		return nil
	}
}

// countingReader yields an endless stream of 'a' and counts what it gave.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	c.n += int64(len(p))
	return len(p), nil
}

// laughs returns billion-laughs anchors, one per line at indent: l9 expands
// to 10^9 strings.
func laughs(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n", indent)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "%sl%d: &l%d [", indent, i, i)
		for k := range 10 {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// aliasNodesMsg is the error for an alias expansion over MaxDecodedNodes.
const aliasNodesMsg = "YAML aliases expand the manifest to more than 100000 nodes (the limit); refusing the manifest"

func TestHostileInput(t *testing.T) {
	const limit = 2 * time.Second
	deepIndent := func() string { // about 2000 levels of block mappings
		var b strings.Builder
		b.WriteString("apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - fieldsV1:\n")
		for i := 8; b.Len() < MaxManifestBytes-20000; i++ {
			b.WriteString(strings.Repeat(" ", i) + "a:\n")
		}
		return b.String()
	}()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"billion laughs in free-form JSON", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - fieldsV1:\n" + laughs("        "),
			aliasNodesMsg},
		{"billion laughs through merge keys", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - fieldsV1:\n" + mergeLaughs("        "),
			aliasNodesMsg},
		{"billion laughs in containers", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: a\n          image: b\n          env:\n            - &e0 {name: A, value: b}\n" +
			envLaughs(), aliasNodesMsg},
		{"self-referencing alias", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - fieldsV1: &a {x: *a}\n",
			"nested more than 64 levels deep; refusing the manifest"},
		{"self-merging mapping", "apiVersion: batch/v1\nkind: Job\nmetadata: &m\n  <<: *m\n",
			"nested more than 64 levels deep; refusing the manifest"},
		{"100k open brackets", strings.Repeat("[", 100_000), "invalid YAML: exceeded max depth of 10000"},
		{"100k nested flow maps", "a: " + strings.Repeat("{a: ", 100_000), "invalid YAML: exceeded max depth of 10000"},
		{"100k nested block lists", strings.Repeat("- ", 100_000), "invalid YAML: exceeded max depth of 10000"},
		{"deep block indentation", deepIndent, "nested more than 64 levels deep; refusing the manifest"},
		{"deep nesting the parser accepts", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - fieldsV1: " +
			strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n",
			"nested more than 64 levels deep; refusing the manifest"},
		{"thousands of errors", "apiVersion: batch/v1\nkind: Job\n" + strings.Repeat("x: 1\n", 50_000),
			"too many errors (stopped after 100)"},
		{"thousands of invalid containers", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n" +
			strings.Repeat("        - {name: X}\n", 20_000), "too many errors (stopped after 100)"},
		{"10 MB of data", strings.Repeat("a", 10<<20), "job.yaml: manifest is larger than 2 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) > MaxManifestBytes && tt.want != "job.yaml: manifest is larger than 2 MiB" {
				t.Fatalf("test input is %d bytes: it would be refused for its size", len(tt.src))
			}
			err := parseWithin(t, limit, strings.NewReader(tt.src))
			if err == nil {
				t.Fatalf("Parse accepted hostile input")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not mention %q:\n%.2000s", tt.want, err)
			}
			if list, _ := AsErrorList(err); len(list) > maxErrors+1 {
				t.Errorf("%d errors, want at most %d", len(list), maxErrors+1)
			}
		})
	}
}

// mergeLaughs nests merge keys instead of lists: m9 merges m8 ten times over.
func mergeLaughs(indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sm0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n", indent)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "%sm%d: &m%d {", indent, i, i)
		for k := range 10 {
			fmt.Fprintf(&b, "k%d: {<<: *m%d}, ", k, i-1)
		}
		b.WriteString("z: 0}\n")
	}
	return b.String()
}

// envLaughs repeats env entries through aliases in more containers: typed
// fields, not free-form JSON, still count against the alias budget.
func envLaughs() string {
	var b strings.Builder
	b.WriteString("            - &e1 {name: B, value: c}\n")
	b.WriteString("        - &c0\n          name: b\n          image: b\n          env: [" + strings.Repeat("*e0, *e1, ", 5000) + "*e0]\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "        - {<<: *c0, name: c%d}\n", i)
	}
	return b.String()
}

// A string field refuses an alias to a list on sight, without expanding it,
// and the error points at the alias.
func TestAliasToListInStringFieldIsNotExpanded(t *testing.T) {
	src := "apiVersion: batch/v1\nkind: Job\nx:\n" + laughs("  ") + "metadata:\n  name: x\n  labels: {a: *l9}\n"
	err := parseWithin(t, 2*time.Second, strings.NewReader(src))
	want := "job.yaml:16:15: metadata.labels[a]: expected a string, got a list"
	if err == nil || !strings.Contains(err.Error()+"\n", want+"\n") {
		t.Errorf("got %v\nwant it to contain %s", err, want)
	}
}

func TestOversizeInputIsNotReadToTheEnd(t *testing.T) {
	r := &countingReader{}
	err := parseWithin(t, 2*time.Second, io.LimitReader(r, 1<<40)) // a terabyte, were it all read
	if err == nil || err.Error() != "job.yaml: manifest is larger than 2 MiB" {
		t.Fatalf("got %v", err)
	}
	if r.n > MaxManifestBytes+64<<10 {
		t.Errorf("read %d bytes, want about %d", r.n, MaxManifestBytes+1)
	}
}

func TestInputAtTheSizeLimitIsAccepted(t *testing.T) {
	src := helloJob + "# " + strings.Repeat("x", MaxManifestBytes-len(helloJob)-3) + "\n"
	if len(src) != MaxManifestBytes {
		t.Fatalf("test input is %d bytes", len(src))
	}
	if err := parseWithin(t, 2*time.Second, strings.NewReader(src)); err != nil {
		t.Fatalf("Parse refused a manifest of exactly MaxManifestBytes: %.300v", err)
	}
	err := parseWithin(t, 2*time.Second, strings.NewReader(src+"\n"))
	if err == nil || err.Error() != "job.yaml: manifest is larger than 2 MiB" {
		t.Fatalf("one byte over the limit: got %.300v", err)
	}
}
