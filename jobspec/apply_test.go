package jobspec

import (
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	j := mustParse(t, richJob)
	err := j.Apply(Overrides{
		Name:      "renamed",
		Namespace: "team-a",
		Env:       []EnvVar{{"LITERAL", "2"}, {"POD", "fixed"}, {"NEW", "x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Object and neutral model agree.
	eq(t, "Name", j.Name, "renamed")
	eq(t, "GenerateName", j.GenerateName, "")
	eq(t, "Object.Name", j.Object.Name+"|"+j.Object.GenerateName, "renamed|")
	eq(t, "Namespace", j.Namespace+"|"+j.Object.Namespace, "team-a|team-a")
	wantEnv := []EnvVar{{"LITERAL", "2"}, {"POD", "fixed"}, {"EMPTY", ""}, {"NEW", "x"}}
	eq(t, "container Env", j.Template.Containers[0].Env, wantEnv)
	eq(t, "init container Env", j.Template.InitContainers[0].Env, []EnvVar{{"LITERAL", "2"}, {"POD", "fixed"}, {"NEW", "x"}})
	objEnv := j.Object.Spec.Template.Spec.Containers[0].Env
	eq(t, "Object env count", len(objEnv), 4)
	if objEnv[1].ValueFrom != nil || objEnv[1].Value != "fixed" {
		t.Errorf("Object POD env = %+v, want the literal override", objEnv[1])
	}
	// POD is now literal, so its valueFrom is no longer unmodelled.
	for _, u := range j.Unmodelled {
		if strings.Contains(u, "env[1]") {
			t.Errorf("Unmodelled still lists %s", u)
		}
	}
	eq(t, "Unmodelled kept", len(j.Unmodelled), 7)
	// Untouched fields survive.
	eq(t, "tolerations", len(j.Object.Spec.Template.Spec.Tolerations), 1)
}

func TestApplyEmptyOverridesChangeNothing(t *testing.T) {
	j := mustParse(t, workerJob)
	if err := j.Apply(Overrides{}); err != nil {
		t.Fatal(err)
	}
	eq(t, "Name", j.Name, "worker-job")
	eq(t, "Namespace", j.Namespace, "batch")
	eq(t, "Env", j.Template.Containers[0].Env, []EnvVar{{"MODE", "fast"}})
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name string
		o    Overrides
		want string
	}{
		{"bad name", Overrides{Name: "Bad_Name"},
			`job.yaml: metadata.name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), got "Bad_Name"`},
		{"bad namespace", Overrides{Namespace: "a.b"}, `job.yaml: metadata.namespace: must not contain dots, got "a.b"`},
		{"bad env name", Overrides{Env: []EnvVar{{"1X", "v"}}},
			`job.yaml: env: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*'), got "1X"`},
		{"empty env name", Overrides{Env: []EnvVar{{"", "v"}}}, `job.yaml: env: Required value: an environment variable needs a name`},
		{"several", Overrides{Name: "x_", Namespace: "Y"}, "job.yaml: metadata.name: " + "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), got \"x_\"\n" +
			"job.yaml: metadata.namespace: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'), got \"Y\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustParse(t, workerJob)
			err := j.Apply(tt.o)
			if err == nil {
				t.Fatal("Apply accepted a bad override")
			}
			list, ok := AsErrorList(err)
			if !ok {
				t.Fatalf("error is %T, want ErrorList", err)
			}
			for _, e := range list {
				if e.Line != 0 || e.Col != 0 {
					t.Errorf("override error has a position: %v", e)
				}
			}
			eq(t, "error", err.Error(), tt.want)
			// A refused override leaves the Job as it was.
			eq(t, "Name", j.Name+"|"+j.Object.Name, "worker-job|worker-job")
			eq(t, "Namespace", j.Namespace+"|"+j.Object.Namespace, "batch|batch")
			eq(t, "Env", len(j.Object.Spec.Template.Spec.Containers[0].Env), 1)
		})
	}
}

func TestApplyNeedsObject(t *testing.T) {
	if err := (&Job{Name: "x"}).Apply(Overrides{Name: "y"}); err == nil {
		t.Error("Apply on a Job without Object succeeded")
	}
}
