package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const oneJob = `apiVersion: batch/v1
kind: Job
metadata: {name: %s}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["true"]}]
`

func TestParseAllDocumentsAndLists(t *testing.T) {
	two := fmt.Sprintf(oneJob, "first") + "---\n" + fmt.Sprintf(oneJob, "second") + "---\n"
	jobs, err := ParseAll("two.yaml", strings.NewReader(two))
	if err != nil || len(jobs) != 2 || jobs[0].Name != "first" || jobs[1].Name != "second" {
		t.Fatalf("two documents: %v %v", jobs, err)
	}
	list := "apiVersion: v1\nkind: List\nitems:\n" +
		"- " + strings.ReplaceAll(strings.TrimSpace(fmt.Sprintf(oneJob, "a")), "\n", "\n  ") + "\n" +
		"- " + strings.ReplaceAll(strings.TrimSpace(fmt.Sprintf(oneJob, "b")), "\n", "\n  ") + "\n"
	jobs, err = ParseAll("list.yaml", strings.NewReader(list))
	if err != nil || len(jobs) != 2 || jobs[1].Name != "b" {
		t.Fatalf("a List: %v %v", jobs, err)
	}
	// One bad document: nothing is returned, and the error points into it.
	bad := fmt.Sprintf(oneJob, "good") + "---\n" + strings.Replace(fmt.Sprintf(oneJob, "bad"), "restartPolicy: Never", "restartPolicy: Always", 1)
	jobs, err = ParseAll("bad.yaml", strings.NewReader(bad))
	var list1 ErrorList
	if jobs != nil || !errors.As(err, &list1) || len(list1) != 1 || list1[0].Line != 16 || !strings.Contains(list1[0].Field, "restartPolicy") {
		t.Fatalf("a bad second document: %v %v", jobs, err)
	}
	if _, err := ParseAll("l.yaml", strings.NewReader("apiVersion: v2\nkind: List\nitems: []\n")); err == nil || !strings.Contains(err.Error(), `a List has apiVersion "v1"`) {
		t.Errorf("a List of another version: %v", err)
	}
	if _, err := ParseAll("e.yaml", strings.NewReader("---\n---\n")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("no document: %v", err)
	}
	// Parse keeps its one-Job contract.
	if _, err := Parse("two.yaml", strings.NewReader(two)); err == nil || !strings.Contains(err.Error(), "found a second YAML document") {
		t.Errorf("Parse of two documents: %v", err)
	}
}

// The decode limits are the file's, not each document's: many documents
// each within the limit cannot add up past it.
func TestParseAllSharesTheBudget(t *testing.T) {
	var b strings.Builder
	arg := strings.Repeat("x", 1000)
	for i := range 6 {
		b.WriteString(fmt.Sprintf("apiVersion: batch/v1\nkind: Job\nmetadata: {name: j%d}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n"+
			"      containers: [{name: main, image: busybox, command: [&a %q, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}]\n---\n", i, arg))
	}
	// Each document expands to ~30 KB; make them many enough to pass 4 MiB.
	doc := b.String()
	many := strings.Repeat(doc, 25) // 150 documents, ~4.5 MB decoded
	if len(many) > MaxManifestBytes {
		t.Skip("the test file grew past the file limit")
	}
	_, err := ParseAll("many.yaml", strings.NewReader(many))
	if err == nil || !strings.Contains(err.Error(), "bytes of keys and values (the limit)") {
		t.Errorf("150 documents over the decode limit together: %v", err)
	}
}
