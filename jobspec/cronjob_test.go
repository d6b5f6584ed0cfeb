package jobspec

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
)

const cronOK = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  labels: {team: data}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    metadata:
      labels: {run: nightly}
      name: ignored
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: Never
          tolerations: [{key: a, operator: Exists}]
          containers:
            - name: main
              image: busybox
              command: ["true"]
`

func TestCronJobDefaultsAndModel(t *testing.T) {
	cj, err := ParseCronJob("cj.yaml", strings.NewReader(cronOK))
	if err != nil {
		t.Fatal(err)
	}
	if cj.Name != "nightly" || cj.Schedule != "0 3 * * *" || cj.TimeZone != "" || cj.Suspend {
		t.Errorf("model %+v", cj)
	}
	if cj.ConcurrencyPolicy != batchv1.AllowConcurrent || cj.SuccessfulJobsHistoryLimit != 3 || cj.FailedJobsHistoryLimit != 1 {
		t.Errorf("defaults: %s %d %d, want Allow 3 1", cj.ConcurrencyPolicy, cj.SuccessfulJobsHistoryLimit, cj.FailedJobsHistoryLimit)
	}
	tmpl := cj.Template
	if tmpl.Name != "" || tmpl.BackoffLimit != 2 || tmpl.Labels["run"] != "nightly" || len(tmpl.Template.Containers) != 1 {
		t.Errorf("template %+v", tmpl)
	}
	// The template's unmodelled fields are the Job's paths; the template's
	// own metadata beyond labels and annotations is the CronJob's.
	if got := strings.Join(tmpl.Unmodelled, " "); got != "spec.template.spec.tolerations" {
		t.Errorf("template unmodelled %q", got)
	}
	if got := strings.Join(cj.Unmodelled, " "); got != "spec.jobTemplate.metadata.name" {
		t.Errorf("cronjob unmodelled %q", got)
	}
	j := cj.JobNamed("nightly-1")
	if j.Name != "nightly-1" || j.Object.Name != "nightly-1" || cj.Template.Object.Name != "" {
		t.Errorf("JobNamed: %q %q, template %q", j.Name, j.Object.Name, cj.Template.Object.Name)
	}
}

func TestCronJobValidation(t *testing.T) {
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"bad minute", `schedule: "61 * * * *"`, `cj.yaml:7:14: spec.schedule: end of range (61) above maximum (59): 61 (the minute field), got "61 * * * *"`},
		{"bad day of week, plain", `schedule: 0 0 * * MON-XYZ`, `cj.yaml:7:21: spec.schedule: failed to parse int from XYZ: strconv.Atoi: parsing "XYZ": invalid syntax (the day of week field)`},
		{"fields", `schedule: "* * *"`, `cj.yaml:7:13: spec.schedule: expected exactly 5 fields, found 3: [* * *], got "* * *"`},
		{"macro", `schedule: "@sometimes"`, `cj.yaml:7:13: spec.schedule: unrecognized descriptor: @sometimes, got "@sometimes"`},
		{"TZ in schedule", `schedule: "TZ=UTC 0 * * * *"`, `spec.schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		{"time zone", "schedule: \"0 3 * * *\"\n  timeZone: Local", `spec.timeZone: timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones, got "Local"`},
		{"time zone chars", "schedule: \"0 3 * * *\"\n  timeZone: ../etc", `spec.timeZone: unknown time zone ../etc`},
		{"concurrency", "schedule: \"0 3 * * *\"\n  concurrencyPolicy: Never", `spec.concurrencyPolicy: Unsupported value: "Never": supported values: "Allow", "Forbid", "Replace"`},
		{"deadline", "schedule: \"0 3 * * *\"\n  startingDeadlineSeconds: -5", `spec.startingDeadlineSeconds: must be greater than or equal to 0, got -5`},
		{"history", "schedule: \"0 3 * * *\"\n  successfulJobsHistoryLimit: -1", `spec.successfulJobsHistoryLimit: must be greater than or equal to 0, got -1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(cronOK, `schedule: "0 3 * * *"`, tc.edit, 1)
			_, err := ParseCronJob("cj.yaml", strings.NewReader(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestCronJobTemplateIsValidatedAsAJob(t *testing.T) {
	src := strings.Replace(cronOK, "backoffLimit: 2", "backoffLimit: -2\n      selector: {matchLabels: {a: b}}\n      manualSelector: true", 1)
	src = strings.Replace(src, "restartPolicy: Never", "restartPolicy: Always", 1)
	_, err := ParseCronJob("cj.yaml", strings.NewReader(src))
	for _, want := range []string{
		"cj.yaml:13:21: spec.jobTemplate.spec.backoffLimit: must be greater than or equal to 0, got -2",
		"spec.jobTemplate.spec.selector: `selector` will be auto-generated",
		`spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"`,
		`spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
		}
	}
	long := strings.Replace(cronOK, "name: nightly", "name: "+strings.Repeat("n", 53), 1)
	if _, err := ParseCronJob("cj.yaml", strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "metadata.name: must be no more than 52 characters") {
		t.Errorf("a 53-character name: %v", err)
	}
}

func TestManifestsOfBothKinds(t *testing.T) {
	job := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: b}]\n"
	ms, err := ParseManifests("all.yaml", strings.NewReader(cronOK+"---\n"+job))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Kind() != "CronJob" || ms[1].Kind() != "Job" || ms[1].Job.Name != "j" {
		t.Errorf("manifests %+v", ms)
	}
	_, err = ParseManifests("pod.yaml", strings.NewReader("apiVersion: v1\nkind: Pod\n"))
	if err == nil || !strings.Contains(err.Error(), `kind: Unsupported value: "Pod": supported values: "Job", "CronJob"`) {
		t.Errorf("a Pod: %v", err)
	}
	// Parse, for Jobs alone, still refuses a CronJob.
	if _, err := Parse("cj.yaml", strings.NewReader(cronOK)); err == nil || !strings.Contains(err.Error(), `supported values: "Job"`) {
		t.Errorf("Parse of a CronJob: %v", err)
	}
}

func TestCronJobApply(t *testing.T) {
	cj, err := ParseCronJob("cj.yaml", strings.NewReader(cronOK))
	if err != nil {
		t.Fatal(err)
	}
	if err := cj.Apply(Overrides{Name: "other", Namespace: "team", Env: []EnvVar{{Name: "A", Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	if cj.Name != "other" || cj.Object.Name != "other" || cj.Namespace != "team" {
		t.Errorf("name/namespace %q %q %q", cj.Name, cj.Object.Name, cj.Namespace)
	}
	if env := cj.Object.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "1" || cj.Template.Template.Containers[0].Env[0].Name != "A" {
		t.Errorf("env %+v", env)
	}
	if cj.Template.Name != "" || cj.Template.Namespace != "team" {
		t.Errorf("template name %q namespace %q", cj.Template.Name, cj.Template.Namespace)
	}
	if err := cj.Apply(Overrides{Name: strings.Repeat("x", 60)}); err == nil || cj.Name != "other" {
		t.Errorf("a 60-character name: %v (name now %q)", err, cj.Name)
	}
}

func TestParseSchedule(t *testing.T) {
	s, err := ParseSchedule("0 3 * * *", "Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.RFC3339, "2026-01-10T00:00:00Z")
	next := s.Next(from)
	if got := next.UTC().Format("15:04"); got != "02:00" {
		t.Errorf("03:00 in Paris in January is %s UTC, want 02:00", got)
	}
}
