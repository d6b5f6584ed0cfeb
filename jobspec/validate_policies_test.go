package jobspec

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"
)

// checkPolicies validates the spec lines (below spec:) of a Job whose pod
// template is given, and returns "field: message" lines.
func checkPolicies(t *testing.T, spec, podSpec string) []string {
	t.Helper()
	manifest := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n" + spec +
		"\n  template:\n    spec:\n" + podSpec + "\n"
	o, err := decodeForTest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	v := &validator{file: "t.yaml"}
	validatePolicies(v, o)
	var out []string
	for _, e := range v.errs {
		out = append(out, e.Field+": "+e.Msg)
	}
	return out
}

const (
	neverPod  = "      restartPolicy: Never\n      containers: [{name: main, image: busybox}]\n      initContainers: [{name: setup, image: busybox}]"
	onFailPod = "      restartPolicy: OnFailure\n      containers: [{name: main, image: busybox}]"
)

func TestValidatePolicies(t *testing.T) {
	for _, tc := range []struct {
		name, spec, pod string
		want            []string
	}{
		{"valid", `  completionMode: Indexed
  completions: 4
  backoffLimitPerIndex: 1
  maxFailedIndexes: 2
  podFailurePolicy:
    rules:
    - {action: FailIndex, onExitCodes: {containerName: setup, operator: In, values: [1, 2]}}
    - {action: Ignore, onPodConditions: [{type: DisruptionTarget}]}
  successPolicy:
    rules: [{succeededIndexes: "0,2-3", succeededCount: 2}]`, neverPod, nil},
		{"podFailurePolicy needs Never", `  podFailurePolicy:
    rules: [{action: Count, onExitCodes: {operator: NotIn, values: [0]}}]`, onFailPod,
			[]string{`spec.template.spec.restartPolicy: only "Never" is supported when podFailurePolicy is specified, got "OnFailure"`}},
		{"FailIndex needs backoffLimitPerIndex", `  podFailurePolicy:
    rules: [{action: FailIndex, onExitCodes: {operator: In, values: [1]}}]`, neverPod,
			[]string{`spec.podFailurePolicy.rules[0].action: requires the backoffLimitPerIndex to be set, got "FailIndex"`}},
		{"rules", `  podFailurePolicy:
    rules:
    - {action: Restart, onExitCodes: {operator: Is, values: [3, 1, 1, 0], containerName: nope}}
    - {onPodConditions: [{type: "bad type!", status: Maybe}]}
    - {action: Ignore}
    - {action: FailJob, onExitCodes: {operator: In, values: [0]}, onPodConditions: [{type: Ready}]}`, neverPod,
			[]string{
				`spec.podFailurePolicy.rules[0].action: Unsupported value: "Restart": supported values: "Count", "FailIndex", "FailJob", "Ignore"`,
				`spec.podFailurePolicy.rules[0].onExitCodes.operator: Unsupported value: "Is": supported values: "In", "NotIn"`,
				`spec.podFailurePolicy.rules[0].onExitCodes.containerName: must be one of the container or initContainer names in the pod template, got "nope"`,
				`spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 1`,
				`spec.podFailurePolicy.rules[0].onExitCodes.values: must be ordered, got [3 1 1 0]`,
				`spec.podFailurePolicy.rules[1].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`,
				`spec.podFailurePolicy.rules[1].onPodConditions[0].type: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), got "bad type!"`,
				`spec.podFailurePolicy.rules[1].onPodConditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"`,
				`spec.podFailurePolicy.rules[2]: specifying one of OnExitCodes and OnPodConditions is required`,
				`spec.podFailurePolicy.rules[3].onExitCodes.values[0]: must not be 0 for the In operator, got 0`,
				`spec.podFailurePolicy.rules[3]: specifying both OnExitCodes and OnPodConditions is not supported`,
			}},
		{"too many rules and values", "  podFailurePolicy:\n    rules:\n" +
			strings.Repeat("    - {action: Count, onExitCodes: {operator: In, values: [1]}}\n", 21), neverPod,
			[]string{`spec.podFailurePolicy.rules: Too many: must have at most 20 items, got 21`}},
		{"per-index fields need Indexed", "  backoffLimitPerIndex: 1\n  maxFailedIndexes: 1", neverPod, []string{
			"spec.backoffLimitPerIndex: requires indexed completion mode, got 1",
			"spec.maxFailedIndexes: requires indexed completion mode, got 1",
		}},
		{"maxFailedIndexes", "  completionMode: Indexed\n  completions: 2\n  maxFailedIndexes: 3", neverPod, []string{
			"spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
			"spec.maxFailedIndexes: must be less than or equal to completions, got 3",
		}},
		{"high completions", "  completionMode: Indexed\n  completions: 100001\n  parallelism: 10001\n  backoffLimitPerIndex: 1", neverPod, []string{
			"spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
			"spec.parallelism: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index, got 10001",
		}},
		{"negative", "  completionMode: Indexed\n  completions: 2\n  backoffLimitPerIndex: -1", neverPod, []string{
			"spec.backoffLimitPerIndex: must be greater than or equal to 0, got -1",
		}},
		{"successPolicy needs Indexed", "  successPolicy:\n    rules: [{succeededCount: 1}]", neverPod, []string{
			"spec.successPolicy: requires indexed completion mode",
		}},
		{"successPolicy rules", `  completionMode: Indexed
  completions: 5
  successPolicy:
    rules:
    - {}
    - {succeededIndexes: "3-1"}
    - {succeededIndexes: "1,7"}
    - {succeededIndexes: "0-1", succeededCount: 3}
    - {succeededCount: 6}`, neverPod, []string{
			"spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified",
			`spec.successPolicy.rules[1].succeededIndexes: error parsing succeededIndexes: non-increasing order, previous: 3, current: 1, got "3-1"`,
			`spec.successPolicy.rules[2].succeededIndexes: error parsing succeededIndexes: too large index: "7", got "1,7"`,
			"spec.successPolicy.rules[3].succeededCount: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field), got 3",
			"spec.successPolicy.rules[4].succeededCount: must be less than or equal to 5 (the number of specified completions), got 6",
		}},
		{"no successPolicy rules", "  completionMode: Indexed\n  completions: 5\n  successPolicy: {rules: []}", neverPod, []string{
			"spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified",
		}},
		{"podReplacementPolicy", "  podReplacementPolicy: Sometimes", neverPod, []string{
			`spec.podReplacementPolicy: Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"`,
		}},
		{"podReplacementPolicy with podFailurePolicy", `  podReplacementPolicy: TerminatingOrFailed
  podFailurePolicy:
    rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]`, neverPod, []string{
			`spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := checkPolicies(t, tc.spec, tc.pod)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// decodeForTest reads a manifest without validating it: YAML to JSON to Job.
func decodeForTest(manifest string) (*batchv1.Job, error) {
	var m any
	if err := yaml.Unmarshal([]byte(manifest), &m); err != nil {
		return nil, err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var o batchv1.Job
	return &o, json.Unmarshal(data, &o)
}
