package jobspec

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strings"
	"time"
	_ "time/tzdata" // time zones are checked and used the same on every machine, as kube-apiserver does

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// A batch/v1 CronJob is read like a Job: the same schema walk (every real
// field known, positions kept), Kubernetes 1.36's validation rules and
// wording (pkg/apis/batch/validation: ValidateCronJobCreate), and a neutral
// model with the defaults the API server applies (SetDefaults_CronJob). Its
// jobTemplate is checked by the Job's own rules and carried as a Job.

const wantCronKind = "CronJob"

var cronJobType = reflect.TypeFor[batchv1.CronJob]()

// CronJob defaults and limits (Kubernetes 1.36).
const (
	DefaultSuccessfulJobsHistoryLimit = 3
	DefaultFailedJobsHistoryLimit     = 1
	// MaxCronJobNameLength: the controller names each Job
	// "<cronjob>-<scheduled time in minutes>", 11 more characters, and a
	// Job's name must fit a label value (63).
	MaxCronJobNameLength = 52
)

// CronJob is one parsed, defaulted and validated CronJob.
type CronJob struct {
	// Source names where the manifest came from, for messages.
	Source string
	// Object is the manifest as Kubernetes decodes it (overrides applied).
	Object *batchv1.CronJob

	Name         string // empty when GenerateName is used
	GenerateName string
	Namespace    string // empty: the backend's or context's default
	Labels       map[string]string
	Annotations  map[string]string

	// Schedule is spec.schedule as written: five fields or a macro.
	Schedule string
	// TimeZone is spec.timeZone; "" when unset (the scheduler's own zone).
	TimeZone                string
	ConcurrencyPolicy       batchv1.ConcurrencyPolicy // defaulted to Allow
	StartingDeadlineSeconds *int64                    // nil: no deadline
	Suspend                 bool
	// History limits, defaulted to 3 and 1.
	SuccessfulJobsHistoryLimit int32
	FailedJobsHistoryLimit     int32

	// Template is spec.jobTemplate as a Job without a name: its metadata
	// holds the template's labels and annotations and the CronJob's
	// namespace; its Unmodelled paths are the Job's (spec.template...).
	Template *Job

	// Unmodelled lists the fields of the CronJob outside the Job template
	// that the model above does not carry (metadata.ownerReferences,
	// spec.jobTemplate.metadata.name, …), in document order.
	Unmodelled []string
}

// Manifest is one object of a manifest file: a Job or a CronJob (exactly
// one of the two is set).
type Manifest struct {
	Job     *Job
	CronJob *CronJob
}

// Kind is "Job" or "CronJob".
func (m Manifest) Kind() string {
	if m.CronJob != nil {
		return wantCronKind
	}
	return wantKind
}

// ParseManifests is ParseAll for files that may hold CronJobs as well as
// Jobs.
func ParseManifests(source string, r io.Reader) ([]Manifest, error) {
	return parseEach(source, r, buildManifest)
}

// LoadManifests is ParseManifests of the file at path, or of stdin for "-".
func LoadManifests(path string, stdin io.Reader) ([]Manifest, error) {
	return loadFile(path, stdin, ParseManifests)
}

// ParseCronJob reads a manifest holding one CronJob.
func ParseCronJob(source string, r io.Reader) (*CronJob, error) {
	ms, err := ParseManifests(source, r)
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 || ms[0].CronJob == nil {
		return nil, ErrorList{{File: source, Msg: "expected one CronJob"}}
	}
	return ms[0].CronJob, nil
}

// buildManifest builds the Job or CronJob root says it is.
func buildManifest(source string, root *yaml.Node, spent *budget) (Manifest, error) {
	if root.Kind == yaml.MappingNode {
		if errs := checkTypeMetaOf(source, root, wantKind, wantCronKind); errs != nil {
			return Manifest{}, errs
		}
		if v := mapValue(root, "kind"); v != nil && v.Value == wantCronKind {
			cj, err := buildCronJob(source, root, spent)
			return Manifest{CronJob: cj}, err
		}
	}
	job, err := buildSpent(source, root, spent)
	return Manifest{Job: job}, err
}

// mapValue is the value of key in mapping n (aliases resolved), or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			v := n.Content[i+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			return v
		}
	}
	return nil
}

// The fields of a CronJob the model carries: its own, and the Job's below
// spec.jobTemplate (a template's name and namespace are not used: the
// controller names each Job).
var cronLeaves, cronPrefixes = func() (map[string]bool, map[string]bool) {
	leaves := []string{
		"apiVersion", "kind",
		"metadata.name", "metadata.generateName", "metadata.namespace", "metadata.labels", "metadata.annotations",
		"spec.schedule", "spec.timeZone", "spec.concurrencyPolicy", "spec.startingDeadlineSeconds", "spec.suspend",
		"spec.successfulJobsHistoryLimit", "spec.failedJobsHistoryLimit",
		"spec.jobTemplate.metadata.labels", "spec.jobTemplate.metadata.annotations",
		"spec.jobTemplate.spec.completions", "spec.jobTemplate.spec.parallelism", "spec.jobTemplate.spec.completionMode",
		"spec.jobTemplate.spec.backoffLimit", "spec.jobTemplate.spec.activeDeadlineSeconds",
		"spec.jobTemplate.spec.ttlSecondsAfterFinished", "spec.jobTemplate.spec.suspend",
		"spec.jobTemplate.spec.template.metadata.labels", "spec.jobTemplate.spec.template.metadata.annotations",
		"spec.jobTemplate.spec.template.spec.restartPolicy",
		"spec.jobTemplate.spec.template.spec.containers[*]", "spec.jobTemplate.spec.template.spec.initContainers[*]",
	}
	return modelledSets(leaves...)
}()

const templatePrefix = "spec.jobTemplate."

// buildCronJob checks root against the CronJob schema, decodes and
// validates it.
func buildCronJob(source string, root *yaml.Node, spent *budget) (*CronJob, error) {
	w := newWalker(source)
	w.leaves, w.prefixes = cronLeaves, cronPrefixes
	obj := &batchv1.CronJob{}
	errs := w.decode(root, cronJobType, spent, obj, func(v *validator) {
		if obj.APIVersion == "" {
			v.add("apiVersion", required(`supported values: "`+wantAPIVersion+`"`))
		}
		v.cronJob(obj, scheduleNode(root))
	})
	if len(errs) > 0 {
		return nil, errs
	}
	return newCronJob(source, obj, w.unmodelled), nil
}

// scheduleNode is spec.schedule's scalar, when written plainly.
func scheduleNode(root *yaml.Node) *yaml.Node {
	n := mapValue(mapValue(root, "spec"), "schedule")
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	return n
}

func newCronJob(source string, o *batchv1.CronJob, unmodelled []string) *CronJob {
	c := &CronJob{Source: source, Object: o}
	var tmpl []string
	for _, u := range unmodelled {
		if rest, ok := strings.CutPrefix(u, templatePrefix); ok && strings.HasPrefix(rest, "spec.") {
			tmpl = append(tmpl, rest)
		} else {
			c.Unmodelled = append(c.Unmodelled, u)
		}
	}
	c.fillModel(tmpl)
	return c
}

// fillModel sets the neutral fields from Object, with Kubernetes' defaults.
// templateUnmodelled is the template's, as Job paths.
func (c *CronJob) fillModel(templateUnmodelled []string) {
	o := c.Object
	c.Name, c.GenerateName, c.Namespace = o.Name, o.GenerateName, o.Namespace
	c.Labels, c.Annotations = maps.Clone(o.Labels), maps.Clone(o.Annotations)
	s := &o.Spec
	c.Schedule = s.Schedule
	c.TimeZone = deref(s.TimeZone, "")
	c.ConcurrencyPolicy = s.ConcurrencyPolicy
	if c.ConcurrencyPolicy == "" {
		c.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	c.StartingDeadlineSeconds = clonePtr(s.StartingDeadlineSeconds)
	c.Suspend = deref(s.Suspend, false)
	c.SuccessfulJobsHistoryLimit = deref(s.SuccessfulJobsHistoryLimit, DefaultSuccessfulJobsHistoryLimit)
	c.FailedJobsHistoryLimit = deref(s.FailedJobsHistoryLimit, DefaultFailedJobsHistoryLimit)
	c.Template = newJob(c.Source, templateJob(o), templateUnmodelled)
}

// templateJob is the CronJob's jobTemplate as a Job object without a name.
func templateJob(o *batchv1.CronJob) *batchv1.Job {
	t := &o.Spec.JobTemplate
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: wantAPIVersion, Kind: wantKind},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   o.Namespace,
			Labels:      maps.Clone(t.Labels),
			Annotations: maps.Clone(t.Annotations),
		},
		Spec: *t.Spec.DeepCopy(),
	}
}

// JobNamed is the template as a Job named name, for what a backend checks
// or renders of the Jobs the CronJob will create.
func (c *CronJob) JobNamed(name string) *Job {
	j := *c.Template
	j.Object = c.Template.Object.DeepCopy()
	j.Object.Name, j.Name = name, name
	return &j
}

// Apply applies command-line overrides: the name and namespace to the
// CronJob, env to every container of its template. On error c is left
// unchanged.
func (c *CronJob) Apply(o Overrides) error {
	if c.Object == nil {
		return errors.New("jobspec: Apply needs a CronJob from ParseManifests")
	}
	v := &validator{file: c.Source}
	if o.Name != "" {
		v.invalid("metadata.name", o.Name, validation.IsDNS1123Subdomain(o.Name))
		if len(o.Name) > MaxCronJobNameLength {
			v.add("metadata.name", fmt.Sprintf("must be no more than %d characters, got %q", MaxCronJobNameLength, o.Name))
		}
	}
	if o.Namespace != "" {
		v.invalid("metadata.namespace", o.Namespace, validation.IsDNS1123Label(o.Namespace))
	}
	if len(v.errs) > 0 {
		return v.errs
	}
	tmpl := c.JobNamed("template") // Job validation wants a name; the template's is never used
	if len(o.Env) > 0 {
		if err := tmpl.Apply(Overrides{Env: o.Env}); err != nil {
			return err
		}
	}
	obj := c.Object.DeepCopy()
	if o.Name != "" {
		obj.Name, obj.GenerateName = o.Name, ""
	}
	if o.Namespace != "" {
		obj.Namespace = o.Namespace
	}
	obj.Spec.JobTemplate.Spec = *tmpl.Object.Spec.DeepCopy()
	c.Object = obj
	c.fillModel(tmpl.Unmodelled)
	return nil
}

// ParseSchedule reads a CronJob's schedule as the Kubernetes CronJob
// controller does (cron.ParseStandard: five fields or a macro such as
// @hourly; "TZ=zone" prefixed when timeZone is set). Without a time zone
// the schedule is in time.Local, the scheduler's own zone.
func ParseSchedule(schedule, timeZone string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	if timeZone != "" && !strings.Contains(schedule, "TZ") {
		schedule = "TZ=" + timeZone + " " + schedule
	}
	return cron.ParseStandard(schedule)
}

// scheduleFieldNames name the five fields in messages.
var scheduleFieldNames = []string{"minute", "hour", "day of month", "month", "day of week"}

// badScheduleField finds which of a five-field schedule's fields the
// parser refuses: its index and byte offset in schedule, or -1.
func badScheduleField(schedule string) (index, offset int) {
	fields := strings.Fields(schedule)
	if len(fields) != 5 {
		return -1, 0
	}
	pos := 0
	for i, f := range fields {
		at := strings.Index(schedule[pos:], f) + pos
		pos = at + len(f)
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, err := ParseSchedule(strings.Join(probe, " "), ""); err != nil {
			return i, at
		}
	}
	return -1, 0
}

// cronJob validates o as ValidateCronJobCreate does. schedule, when not
// nil, is spec.schedule's node, to point at the bad field inside it.
func (v *validator) cronJob(o *batchv1.CronJob, schedule *yaml.Node) {
	v.cronMeta(&o.ObjectMeta)
	s := &o.Spec
	if s.Schedule == "" {
		v.add("spec.schedule", required(""))
	} else {
		v.schedule(s.Schedule, schedule)
	}
	nonNegative(v, "spec.startingDeadlineSeconds", s.StartingDeadlineSeconds)
	v.timeZone(s.TimeZone)
	switch p := s.ConcurrencyPolicy; p {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent, "": // "": defaulted to Allow
	default:
		v.add("spec.concurrencyPolicy", unsupported(p, batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent))
	}
	// The template: the Job's rules (ValidateJobTemplateSpec), its labels
	// and annotations as every Job the controller makes will carry them.
	t := &s.JobTemplate
	job := templateJob(o)
	v.prefix = templatePrefix
	v.labels("metadata.labels", t.Labels)
	v.annotations("metadata.annotations", t.Annotations)
	v.jobSpec(&job.Spec)
	validatePolicies(v, job)
	if t.Spec.Selector != nil {
		v.add("spec.selector", "`selector` will be auto-generated")
	}
	if t.Spec.ManualSelector != nil && *t.Spec.ManualSelector {
		v.add("spec.manualSelector", `Unsupported value: true: supported values: "nil", "false"`)
	}
	v.prefix = ""
	nonNegative(v, "spec.successfulJobsHistoryLimit", s.SuccessfulJobsHistoryLimit)
	nonNegative(v, "spec.failedJobsHistoryLimit", s.FailedJobsHistoryLimit)
}

// cronMeta checks a CronJob's metadata: a Job's rules, and a name short
// enough for the names of its Jobs.
func (v *validator) cronMeta(m *metav1.ObjectMeta) {
	v.objectMeta(&batchv1.Job{ObjectMeta: *m})
	switch {
	case m.Name != "" && len(m.Name) > MaxCronJobNameLength:
		v.add("metadata.name", fmt.Sprintf("must be no more than %d characters, got %q", MaxCronJobNameLength, truncate(m.Name)))
	case m.Name == "" && len(m.GenerateName)+5 > MaxCronJobNameLength:
		v.add("metadata.generateName", fmt.Sprintf("must be no more than %d characters (the generated name adds 5, and a CronJob's name has at most %d), got %q",
			MaxCronJobNameLength-5, MaxCronJobNameLength, truncate(m.GenerateName)))
	}
}

// schedule checks spec.schedule as validateScheduleFormat does, pointing
// at the field the parser refuses when it can tell which.
func (v *validator) schedule(schedule string, n *yaml.Node) {
	const path = "spec.schedule"
	if _, err := ParseSchedule(schedule, ""); err != nil {
		msg := err.Error()
		line, col := v.at(path, false)
		if i, off := badScheduleField(schedule); i >= 0 {
			msg += " (the " + scheduleFieldNames[i] + " field)"
			if c, ok := scheduleColumn(n, schedule, off); ok {
				line, col = n.Line, c
			}
		}
		v.addAt(path, line, col, msg+", got "+quoteValue(schedule))
	}
	if strings.Contains(schedule, "TZ") {
		v.add(path, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead, got "+quoteValue(schedule))
	}
}

// scheduleColumn is the column of byte offset off of schedule in n, when
// n holds it on one line as written (plain or quoted, without escapes).
func scheduleColumn(n *yaml.Node, schedule string, off int) (int, bool) {
	if n == nil || n.Value != schedule || strings.ContainsAny(schedule, "\n\\\"'") {
		return 0, false
	}
	col := n.Column + len([]rune(schedule[:off]))
	switch n.Style {
	case 0:
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col++
	default:
		return 0, false
	}
	return col, true
}

// addAt reports msg against path at a given place.
func (v *validator) addAt(path string, line, col int, msg string) {
	if len(v.errs) >= maxErrors {
		v.tooMany = true
		return
	}
	v.errs = append(v.errs, &FieldError{File: v.file, Line: line, Col: col, Field: v.prefix + path, Msg: msg})
}

// timeZone checks spec.timeZone as validateTimeZone does.
func (v *validator) timeZone(tz *string) {
	const path = "spec.timeZone"
	if tz == nil {
		return
	}
	if *tz == "" {
		v.add(path, "timeZone must be nil or non-empty string, got \"\"")
		return
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart(part) {
			v.add(path, fmt.Sprintf("unknown time zone %s, got %s", *tz, quoteValue(*tz)))
			return
		}
	}
	if strings.EqualFold(*tz, "Local") {
		v.add(path, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones, got "+quoteValue(*tz))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		v.add(path, err.Error()+", got "+quoteValue(*tz))
	}
}

// validTimeZonePart is Kubernetes' ^[A-Za-z\.\-_0-9+]{1,14}$.
func validTimeZonePart(s string) bool {
	if len(s) < 1 || len(s) > 14 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_+", r)) {
			return false
		}
	}
	return true
}

// String is "cronjob/NAME" for messages.
func (c *CronJob) String() string {
	name := c.Name
	if name == "" {
		name = c.GenerateName + "*"
	}
	return "cronjob/" + name
}
