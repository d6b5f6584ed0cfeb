package jobspec

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

const helloJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: hello-job
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: hello
          image: busybox:1.36
          command: ["sh", "-c", "echo Hello from Job; sleep 2"]
`

const workerJob = `apiVersion: batch/v1
kind: Job
metadata:
  name: worker-job
  namespace: batch
  labels:
    app: worker
spec:
  completions: 3
  parallelism: 2
  template:
    metadata:
      labels:
        app: worker
    spec:
      restartPolicy: OnFailure
      containers:
        - name: worker
          image: busybox:1.36
          command: ["sh", "-c"]
          args: ["echo working; sleep 1"]
          workingDir: /tmp
          env:
            - name: MODE
              value: fast
          resources:
            requests: {cpu: 0.5, memory: 64Mi}
            limits: {cpu: "1", memory: 128Mi}
`

// The same Job as helloJob, written as JSON (with tabs, as editors write it).
const helloJSON = `{
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "hello-json", "annotations": {"team": "data"}},
	"spec": {
		"backoffLimit": 0,
		"completionMode": "Indexed",
		"completions": 4,
		"suspend": true,
		"ttlSecondsAfterFinished": 60,
		"activeDeadlineSeconds": 600,
		"template": {
			"spec": {
				"restartPolicy": "Never",
				"containers": [{"name": "hello", "image": "busybox:1.36", "command": ["echo", "hi"]}]
			}
		}
	}
}`

// Fields the neutral model does not carry must survive in Object and be listed.
const richJob = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: rich-
  ownerReferences: []
  creationTimestamp: null
spec:
  podFailurePolicy:
    rules:
      - action: FailJob
        onExitCodes: {operator: In, values: [42]}
  template:
    spec:
      restartPolicy: Never
      tolerations:
        - {key: gpu, operator: Exists, effect: NoSchedule}
      initContainers:
        - name: init
          image: busybox:1.36
      containers:
        - name: main
          image: busybox:1.36
          imagePullPolicy: IfNotPresent
          livenessProbe: {httpGet: {port: http, path: /healthz}}
          env:
            - name: LITERAL
              value: "1"
            - name: POD
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: EMPTY
          resources:
            claims: [{name: gpu}]
status: {}
`

func mustParse(t *testing.T, src string) *Job {
	t.Helper()
	j, err := Parse("job.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return j
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, j *Job)
	}{
		{"hello", helloJob, func(t *testing.T, j *Job) {
			eq(t, "Name", j.Name, "hello-job")
			eq(t, "Namespace", j.Namespace, "")
			eq(t, "Completions", j.Completions, int32(1))
			eq(t, "Parallelism", j.Parallelism, int32(1))
			eq(t, "BackoffLimit", j.BackoffLimit, int32(2))
			eq(t, "CompletionMode", j.CompletionMode, NonIndexed)
			eq(t, "RestartPolicy", j.Template.RestartPolicy, RestartNever)
			eq(t, "containers", len(j.Template.Containers), 1)
			c := j.Template.Containers[0]
			eq(t, "container", c.Name+" "+c.Image, "hello busybox:1.36")
			eq(t, "Argv", c.Argv(), []string{"sh", "-c", "echo Hello from Job; sleep 2"})
			eq(t, "Unmodelled", j.Unmodelled, []string(nil))
			eq(t, "Object.Name", j.Object.Name, "hello-job")
			eq(t, "Object.BackoffLimit", *j.Object.Spec.BackoffLimit, int32(2))
			eq(t, "Object.Completions", j.Object.Spec.Completions, (*int32)(nil)) // defaults stay out of Object
		}},
		{"worker", workerJob, func(t *testing.T, j *Job) {
			eq(t, "Namespace", j.Namespace, "batch")
			eq(t, "Labels", j.Labels, map[string]string{"app": "worker"})
			eq(t, "template Labels", j.Template.Labels, map[string]string{"app": "worker"})
			eq(t, "Completions", j.Completions, int32(3))
			eq(t, "Parallelism", j.Parallelism, int32(2))
			eq(t, "BackoffLimit", j.BackoffLimit, int32(DefaultBackoffLimit))
			eq(t, "RestartPolicy", j.Template.RestartPolicy, RestartOnFailure)
			c := j.Template.Containers[0]
			eq(t, "Argv", c.Argv(), []string{"sh", "-c", "echo working; sleep 1"})
			eq(t, "WorkingDir", c.WorkingDir, "/tmp")
			eq(t, "Env", c.Env, []EnvVar{{"MODE", "fast"}})
			// Quantities come back in Kubernetes' canonical form.
			eq(t, "Requests", c.Resources.Requests, map[string]string{"cpu": "500m", "memory": "64Mi"})
			eq(t, "Limits", c.Resources.Limits, map[string]string{"cpu": "1", "memory": "128Mi"})
		}},
		{"json", helloJSON, func(t *testing.T, j *Job) {
			eq(t, "Name", j.Name, "hello-json")
			eq(t, "Annotations", j.Annotations, map[string]string{"team": "data"})
			eq(t, "BackoffLimit", j.BackoffLimit, int32(0)) // set to 0, not defaulted
			eq(t, "CompletionMode", j.CompletionMode, Indexed)
			eq(t, "Completions", j.Completions, int32(4))
			eq(t, "Suspend", j.Suspend, true)
			eq(t, "TTL", *j.TTLSecondsAfterFinished, int32(60))
			eq(t, "Deadline", *j.ActiveDeadlineSeconds, int64(600))
			eq(t, "Argv", j.Template.Containers[0].Argv(), []string{"echo", "hi"})
		}},
		{"rich", richJob, func(t *testing.T, j *Job) {
			eq(t, "Name", j.Name, "")
			eq(t, "GenerateName", j.GenerateName, "rich-")
			eq(t, "Unmodelled", j.Unmodelled, []string{
				"metadata.ownerReferences",
				"spec.podFailurePolicy",
				"spec.template.spec.tolerations",
				"spec.template.spec.containers[0].imagePullPolicy",
				"spec.template.spec.containers[0].livenessProbe",
				"spec.template.spec.containers[0].env[1].valueFrom",
				"spec.template.spec.containers[0].resources.claims",
				"status",
			})
			ps := j.Object.Spec.Template.Spec
			eq(t, "tolerations", len(ps.Tolerations), 1)
			eq(t, "toleration key", ps.Tolerations[0].Key, "gpu")
			eq(t, "podFailurePolicy", j.Object.Spec.PodFailurePolicy.Rules[0].OnExitCodes.Values, []int32{42})
			eq(t, "probe port", ps.Containers[0].LivenessProbe.HTTPGet.Port.String(), "http")
			eq(t, "Object env", len(ps.Containers[0].Env), 3)
			eq(t, "Object valueFrom", ps.Containers[0].Env[1].ValueFrom.FieldRef.FieldPath, "metadata.name")
			// valueFrom is not a literal: the neutral model leaves it out.
			eq(t, "Env", j.Template.Containers[0].Env, []EnvVar{{"LITERAL", "1"}, {"EMPTY", ""}})
			eq(t, "InitContainers", j.Template.InitContainers[0].Name, "init")
		}},
		{"merge keys and aliases", `apiVersion: batch/v1
kind: Job
metadata: {name: merged}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - &base
          name: first
          image: busybox:1.36
          command: &cmd [sleep, "1"]
        - <<: *base
          name: second
          args: *cmd
`, func(t *testing.T, j *Job) {
			cs := j.Template.Containers
			eq(t, "names", cs[0].Name+","+cs[1].Name, "first,second")
			eq(t, "merged image", cs[1].Image, "busybox:1.36")
			eq(t, "argv", cs[1].Argv(), []string{"sleep", "1", "sleep", "1"})
		}},
		{"leading and trailing empty documents", "---\n" + helloJob + "---\n", func(t *testing.T, j *Job) {
			eq(t, "Name", j.Name, "hello-job")
		}},
		{"YAML 1.1 booleans, unquoted timestamps, null fields", `apiVersion: batch/v1
kind: Job
metadata:
  name: old-style
  creationTimestamp: 2024-05-01T10:00:00Z
  labels: null
spec:
  suspend: yes
  template:
    spec:
      restartPolicy: Never
      containers: [{name: a, image: b, env: [{name: X, value: "8080"}]}]
`, func(t *testing.T, j *Job) {
			eq(t, "Suspend", j.Suspend, true)
			eq(t, "created", j.Object.CreationTimestamp.UTC().Format("2006-01-02"), "2024-05-01")
			eq(t, "Labels", j.Labels, map[string]string(nil))
			eq(t, "Env", j.Template.Containers[0].Env, []EnvVar{{"X", "8080"}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := mustParse(t, tt.src)
			eq(t, "Source", j.Source, "job.yaml")
			tt.check(t, j)
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// valid is a correct Job into which error tests splice one bad line.
func valid(replace, with string) string {
	const base = `apiVersion: batch/v1
kind: Job
metadata:
  name: ok
spec:
  completions: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
`
	if !strings.Contains(base, replace) {
		panic("valid: no " + replace)
	}
	return strings.Replace(base, replace, with, 1)
}

func TestParseErrors(t *testing.T) {
	const dns = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	const label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	tests := []struct {
		name, src, want string
	}{
		// document level
		{"empty", "", "job.yaml: manifest is empty"},
		{"only comments", "# nothing\n---\n", "job.yaml: manifest is empty"},
		{"second document", helloJob + "---\n" + helloJob, "job.yaml:15:1: a manifest holds exactly one Job; found a second YAML document"},
		{"not a mapping", "- a\n- b\n", "job.yaml:1:1: expected a Kubernetes object (a mapping), got a list"},
		{"syntax", "apiVersion: batch/v1\nkind: [Job\n", "job.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		{"syntax error at end of input", "apiVersion: [batch/v1\n", "job.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		{"scanner error", "apiVersion: batch/v1\nkind: Job\nmetadata: a: b\n", "job.yaml:3: invalid YAML: mapping values are not allowed in this context"},
		{"unknown anchor", "apiVersion: *nowhere\n", "job.yaml: invalid YAML: unknown anchor 'nowhere' referenced"},
		{"bool in command", valid("image: busybox:1.36", "image: busybox:1.36\n          command: [true]"), `job.yaml:13:21: spec.template.spec.containers[0].command[0]: expected a string, got boolean true; quote it: "true"`},
		{"tabs", "apiVersion: batch/v1\n\tkind: Job\n", "job.yaml:2: invalid YAML: found a tab character that violates indentation"},
		{"wrong apiVersion", valid("batch/v1", "apps/v1"), `job.yaml:1:13: apiVersion: Unsupported value: "apps/v1": supported values: "batch/v1"`},
		{"wrong kind", valid("kind: Job", "kind: CronJob"), `job.yaml:2:7: kind: Unsupported value: "CronJob": supported values: "Job"`},
		{"missing apiVersion", valid("apiVersion: batch/v1\n", ""), `job.yaml:1:1: apiVersion: Required value: supported values: "batch/v1"`},
		{"missing kind", valid("kind: Job\n", ""), `job.yaml:1:1: kind: Required value: supported values: "Job"`},

		// schema
		{"unknown field", valid("  completions: 1", "  paralelism: 1"), `job.yaml:6:3: spec.paralelism: unknown field; did you mean "parallelism"?`},
		{"unknown field, no suggestion", valid("  completions: 1", "  colour: red"), `job.yaml:6:3: spec.colour: unknown field`},
		{"unknown nested field", valid("image: busybox:1.36", "image: busybox:1.36\n          imagePullPolcy: Always"), `job.yaml:13:11: spec.template.spec.containers[0].imagePullPolcy: unknown field; did you mean "imagePullPolicy"?`},
		{"wrong case", valid("  completions: 1", "  Completions: 1"), `job.yaml:6:3: spec.Completions: unknown field; did you mean "completions"?`},
		{"string for integer", valid("completions: 1", "completions: three"), `job.yaml:6:16: spec.completions: expected an integer, got string "three"`},
		{"float for integer", valid("completions: 1", "completions: 1.5"), `job.yaml:6:16: spec.completions: expected an integer, got number 1.5`},
		{"int32 overflow", valid("completions: 1", "completions: 3000000000"), `job.yaml:6:16: spec.completions: integer 3000000000 is out of range [-2147483648, 2147483647]`},
		{"number for string", valid("busybox:1.36", "1.36"), `job.yaml:12:18: spec.template.spec.containers[0].image: expected a string, got number 1.36; quote it: "1.36"`},
		{"mapping for string", valid("busybox:1.36", "{a: b}"), `job.yaml:12:18: spec.template.spec.containers[0].image: expected a string, got a mapping`},
		{"list for mapping", valid("  name: ok", "  name: ok\n  labels: [a]"), `job.yaml:5:11: metadata.labels: expected a mapping, got a list`},
		{"scalar for list", valid("image: busybox:1.36", "image: busybox:1.36\n          command: echo hi"), `job.yaml:13:20: spec.template.spec.containers[0].command: expected a list, got string "echo hi"`},
		{"bad boolean", valid("  completions: 1", "  suspend: maybe"), `job.yaml:6:12: spec.suspend: expected a boolean (true or false), got string "maybe"`},
		{"quoted boolean", valid("  completions: 1", `  suspend: "true"`), `job.yaml:6:12: spec.suspend: expected a boolean (true or false), got string "true"`},
		{"bad quantity", valid("image: busybox:1.36", "image: busybox:1.36\n          resources: {limits: {memory: 1GB}}"), `job.yaml:13:40: spec.template.spec.containers[0].resources.limits[memory]: invalid quantity "1GB": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		{"bad int-or-string", valid("image: busybox:1.36", "image: busybox:1.36\n          livenessProbe: {tcpSocket: {port: 1.5}}"), `job.yaml:13:45: spec.template.spec.containers[0].livenessProbe.tcpSocket.port: expected an integer or a string, got number 1.5`},
		{"bad time", valid("  name: ok", "  name: ok\n  creationTimestamp: yesterday"), `job.yaml:5:22: metadata.creationTimestamp: expected an RFC 3339 time such as "2006-01-02T15:04:05Z", got string "yesterday"`},
		{"duplicate key", valid("  completions: 1", "  completions: 1\n  completions: 2"), `job.yaml:7:3: spec.completions: duplicate key; first defined at line 6`},
		{"duplicate label", valid("  name: ok", "  name: ok\n  labels:\n    a: x\n    a: y"), `job.yaml:7:5: metadata.labels[a]: duplicate key; first defined at line 6`},
		{"non-string key", valid("  name: ok", "  name: ok\n  labels: {[a]: b}"), `job.yaml:5:12: metadata.labels: mapping keys must be strings, got a list`},
		{"unknown tag", valid("busybox:1.36", "!custom busybox"), `job.yaml:12:18: spec.template.spec.containers[0].image: expected a string, got value tagged !custom "busybox"`},

		// validation
		{"name required", valid("  name: ok\n", "  labels: {a: b}\n"), `job.yaml:4:3: metadata.name: Required value: name or generateName is required`},
		{"metadata missing", valid("metadata:\n  name: ok\n", ""), `job.yaml:1:1: metadata.name: Required value: name or generateName is required`},
		{"bad name", valid("name: ok", "name: Hello_World"), `job.yaml:4:9: metadata.name: ` + dns + `, got "Hello_World"`},
		{"long name", valid("name: ok", "name: "+strings.Repeat("a", 254)), `job.yaml:4:9: metadata.name: must be no more than 253 characters, got "` + strings.Repeat("a", 40) + `..."`},
		{"bad generateName", valid("name: ok", "generateName: Job-"), `job.yaml:4:17: metadata.generateName: ` + dns + `, got "Job-"`},
		{"bad namespace", valid("  name: ok", "  name: ok\n  namespace: my.ns"), `job.yaml:5:14: metadata.namespace: must not contain dots, got "my.ns"`},
		{"bad label key", valid("  name: ok", "  name: ok\n  labels:\n    -bad: x"), `job.yaml:6:5: metadata.labels: invalid key "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{"bad label value", valid("  name: ok", "  name: ok\n  labels:\n    app: a b"), `job.yaml:6:10: metadata.labels[app]: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'), got "a b"`},
		{"bad annotation key", valid("  name: ok", "  name: ok\n  annotations:\n    example.com/a b: x"), `job.yaml:6:5: metadata.annotations: invalid key "example.com/a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{"bad template label", valid("  template:\n", "  template:\n    metadata: {labels: {a: \"-x\"}}\n"), `job.yaml:8:28: spec.template.metadata.labels[a]: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'), got "-x"`},
		{"negative parallelism", valid("  completions: 1", "  parallelism: -1"), `job.yaml:6:16: spec.parallelism: must be greater than or equal to 0, got -1`},
		{"negative completions", valid("completions: 1", "completions: -3"), `job.yaml:6:16: spec.completions: must be greater than or equal to 0, got -3`},
		{"negative backoffLimit", valid("  completions: 1", "  backoffLimit: -2"), `job.yaml:6:17: spec.backoffLimit: must be greater than or equal to 0, got -2`},
		{"negative ttl", valid("  completions: 1", "  ttlSecondsAfterFinished: -5"), `job.yaml:6:28: spec.ttlSecondsAfterFinished: must be greater than or equal to 0, got -5`},
		{"negative deadline", valid("  completions: 1", "  activeDeadlineSeconds: -1"), `job.yaml:6:26: spec.activeDeadlineSeconds: must be greater than or equal to 0, got -1`},
		{"bad completionMode", valid("  completions: 1", "  completionMode: indexed"), `job.yaml:6:19: spec.completionMode: Unsupported value: "indexed": supported values: "NonIndexed", "Indexed"`},
		{"Indexed without completions", valid("  completions: 1", "  completionMode: Indexed"), `job.yaml:6:3: spec.completions: Required value: when completion mode is Indexed`},
		{"Indexed with too many completions", valid("  completions: 1", "  completionMode: Indexed\n  completions: 100001"), `job.yaml:7:16: spec.completions: must be less than or equal to 100000 when completion mode is Indexed, got 100001`},
		{"restartPolicy Always", valid("Never", "Always"), `job.yaml:9:22: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`},
		{"restartPolicy missing", valid("      restartPolicy: Never\n", ""), `job.yaml:9:7: spec.template.spec.restartPolicy: Required value: supported values: "OnFailure", "Never"`},
		{"no containers", valid("      containers:\n        - name: main\n          image: busybox:1.36\n", "      containers: []\n"), `job.yaml:10:19: spec.template.spec.containers: Required value: a Job needs at least one container`},
		{"container name missing", valid("        - name: main\n          image", "        - image"), `job.yaml:11:11: spec.template.spec.containers[0].name: Required value`},
		{"container name invalid", valid("name: main", "name: Main"), `job.yaml:11:17: spec.template.spec.containers[0].name: ` + label + `, got "Main"`},
		{"container name duplicated in initContainers", valid("      containers:", "      initContainers: [{name: main, image: x}]\n      containers:"), `job.yaml:12:17: spec.template.spec.containers[0].name: Duplicate value: "main"`},
		{"image missing", valid("          image: busybox:1.36\n", "          command: [\"true\"]\n"), `job.yaml:11:11: spec.template.spec.containers[0].image: Required value`},
		{"image with spaces", valid("image: busybox:1.36", `image: "busybox "`), `job.yaml:12:18: spec.template.spec.containers[0].image: must not have leading or trailing whitespace, got "busybox "`},
		{"env name invalid", valid("image: busybox:1.36", "image: busybox:1.36\n          env: [{name: 1A, value: x}]"), `job.yaml:13:24: spec.template.spec.containers[0].env[0].name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*'), got "1A"`},
		{"env name missing", valid("image: busybox:1.36", "image: busybox:1.36\n          env: [{value: x}]"), `job.yaml:13:17: spec.template.spec.containers[0].env[0].name: Required value`},
		{"env value and valueFrom", valid("image: busybox:1.36", "image: busybox:1.36\n          env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]"), "job.yaml:13:48: spec.template.spec.containers[0].env[0].valueFrom: may not be specified when `value` is not empty"},
		{"env value not a string", valid("image: busybox:1.36", "image: busybox:1.36\n          env: [{name: PORT, value: 8080}]"), `job.yaml:13:37: spec.template.spec.containers[0].env[0].value: expected a string, got integer 8080; quote it: "8080"`},
		{"request above limit", valid("image: busybox:1.36", "image: busybox:1.36\n          resources: {requests: {cpu: 1500m}, limits: {cpu: 1}}"), `job.yaml:13:39: spec.template.spec.containers[0].resources.requests[cpu]: must be less than or equal to cpu limit of 1, got 1500m`},
		{"negative request", valid("image: busybox:1.36", "image: busybox:1.36\n          resources: {requests: {memory: -1Mi}}"), `job.yaml:13:42: spec.template.spec.containers[0].resources.requests[memory]: must be greater than or equal to 0, got "-1Mi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse("job.yaml", strings.NewReader(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want error %q", j.Name, tt.want)
			}
			list, ok := AsErrorList(err)
			if !ok {
				t.Fatalf("error is %T, want ErrorList", err)
			}
			if j != nil {
				t.Errorf("Parse returned a Job with the error")
			}
			if len(list) != 1 || list[0].Error() != tt.want {
				t.Errorf("got errors:\n%v\nwant exactly:\n%s", err, tt.want)
			}
		})
	}
}

func TestParseReportsAllErrorsInOrder(t *testing.T) {
	src := `apiVersion: batch/v1
kind: Job
metadata:
  name: Bad_Name
spec:
  paralelism: 2
  completions: -1
  template:
    spec:
      restartPolicy: Always
      containers:
        - name: app
          env:
            - name: 9LIVES
              value: "x"
        - name: app
          image: busybox
`
	_, err := Parse("job.yaml", strings.NewReader(src))
	list, _ := AsErrorList(err)
	var got []string
	for _, e := range list {
		got = append(got, e.File+":"+strconv.Itoa(e.Line)+":"+strconv.Itoa(e.Col)+": "+e.Field)
	}
	eq(t, "errors", got, []string{
		"job.yaml:4:9: metadata.name",
		"job.yaml:6:3: spec.paralelism",
		"job.yaml:7:16: spec.completions",
		"job.yaml:10:22: spec.template.spec.restartPolicy",
		"job.yaml:12:11: spec.template.spec.containers[0].image",
		"job.yaml:14:21: spec.template.spec.containers[0].env[0].name",
		"job.yaml:16:17: spec.template.spec.containers[1].name",
	})
	if err != nil && strings.Count(err.Error(), "\n") != len(list)-1 {
		t.Errorf("Error() should be one line per error:\n%v", err)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	eq(t, "full", (&FieldError{File: "job.yaml", Line: 7, Col: 16, Field: "spec.parallelism", Msg: "bad"}).Error(), "job.yaml:7:16: spec.parallelism: bad")
	eq(t, "no line", (&FieldError{File: "job.yaml", Field: "metadata.name", Msg: "bad"}).Error(), "job.yaml: metadata.name: bad")
	eq(t, "line only", (&FieldError{File: "job.yaml", Line: 3, Msg: "bad"}).Error(), "job.yaml:3: bad")
	eq(t, "no field", (&FieldError{File: "<stdin>", Msg: "manifest is empty"}).Error(), "<stdin>: manifest is empty")
	list := ErrorList{{File: "a", Line: 1, Col: 2, Field: "f", Msg: "m"}, {File: "a", Msg: "n"}}
	eq(t, "list", list.Error(), "a:1:2: f: m\na: n")
	var fe *FieldError
	if !errors.As(error(list), &fe) || fe.Msg != "m" {
		t.Errorf("errors.As(list, *FieldError) = %v", fe)
	}
	if _, ok := AsErrorList(errors.New("x")); ok {
		t.Errorf("AsErrorList found a list in a plain error")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte(helloJob), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Source", j.Source, path)
	eq(t, "Name", j.Name, "hello-job")

	j, err = Load("-", strings.NewReader(workerJob))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "stdin Source", j.Source, "<stdin>")
	eq(t, "stdin Name", j.Name, "worker-job")

	_, err = Load("-", strings.NewReader("kind: Pod\n"))
	eq(t, "stdin error", err.Error(), `<stdin>:1:7: kind: Unsupported value: "Pod": supported values: "Job"`)

	_, err = Load(filepath.Join(dir, "missing.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(valid("Never", "Always")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad, nil)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":9:22: ") {
		t.Errorf("Load(bad) = %v, want an error at %s:9:22", err, bad)
	}
}

// Kubernetes reads a manifest starting with "{" as JSON, where NEL, LS and PS
// are text; YAML would fold them into spaces.
func TestJSONKeepsUnicodeLineBreaksInStrings(t *testing.T) {
	const value = "a\u0085b\u2028c\u2029d"
	src := strings.Replace(helloJSON, `"hi"`, `"`+value+`"`, 1)
	j := mustParse(t, src)
	eq(t, "Argv", j.Template.Containers[0].Argv(), []string{"echo", value})

	// Outside a string, as in JSON, it is refused.
	if _, err := Parse("job.yaml", strings.NewReader(strings.Replace(helloJSON, `"kind"`, "\u2028\"kind\"", 1))); err == nil {
		t.Errorf("a line separator outside a JSON string was accepted")
	}
}
