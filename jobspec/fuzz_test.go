package jobspec

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse: Parse must never panic, and must return exactly one of a
// complete Job or a non-empty ErrorList.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		helloJob, workerJob, helloJSON, richJob, "",
		"---\n---\n", "[", "a: &a [*a]", "apiVersion: *x", "<<: {a: 1}",
		valid("Never", "Always"),
		"apiVersion: batch/v1\nkind: Job\nmetadata: &m\n  <<: *m\n",
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields: [{fieldsV1: {a: [1, 2.5, true, null, !!binary aGk=]}}]\n",
		"apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [null, {resources: {limits: {cpu: .inf}}}]}}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			list, ok := AsErrorList(err)
			if !ok || len(list) == 0 || j != nil {
				t.Fatalf("bad failure: job %v, error %T %v", j, err, err)
			}
			for _, e := range list {
				if !strings.HasPrefix(e.Error(), "fuzz.yaml") {
					t.Fatalf("error without the file name: %q", e.Error())
				}
			}
			return
		}
		if j == nil || j.Object == nil || len(j.Template.Containers) == 0 {
			t.Fatalf("accepted but incomplete: %+v", j)
		}
		if j.Object.APIVersion != "batch/v1" || j.Object.Kind != "Job" {
			t.Fatalf("accepted %s/%s", j.Object.APIVersion, j.Object.Kind)
		}
	})
}
