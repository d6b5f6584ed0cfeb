package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/batchctl/batchctl/jobspec"
)

// Scenario is one loaded scenario file.
type Scenario struct {
	Name    string // file name without .yaml
	Path    string // where it was loaded from; "" when parsed from memory
	About   string
	Rules   []Rule
	Actions []Action // sorted by At
	// Expect is the recorded outcome; nil until recorded with -update.
	Expect *Outcome

	manifest []byte // the job: block, as YAML
	job      *jobspec.Job
}

// Action is a timed change to the job, at At since the job was created.
type Action struct {
	At      Duration `yaml:"at"`
	Suspend bool     `yaml:"suspend"`
	Resume  bool     `yaml:"resume"`
}

// file is the document as written.
type file struct {
	About   string    `yaml:"about"`
	Job     yaml.Node `yaml:"job"`
	Pods    []Rule    `yaml:"pods"`
	Actions []Action  `yaml:"actions"`
	Expect  *Outcome  `yaml:"expect"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$`)

// LoadDir loads every *.yaml scenario in dir, sorted by name.
func LoadDir(dir string) ([]*Scenario, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no scenarios (*.yaml) in %s", dir)
	}
	sort.Strings(paths)
	var out []*Scenario
	var errs []error
	for _, p := range paths {
		s, err := Load(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// Load reads and validates one scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(strings.TrimSuffix(filepath.Base(path), ".yaml"), path, data)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Parse reads and validates a scenario; source names it in errors.
func Parse(name, source string, data []byte) (*Scenario, error) {
	if source == "" {
		source = name + ".yaml"
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{source}, args...)...)
	}
	if !nameRE.MatchString(name) {
		return nil, fail("scenario name %q must be a DNS label (lower case letters, digits, '-')", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fail("%v", err)
	}
	s := &Scenario{Name: name, Path: source, About: f.About, Rules: f.Pods, Actions: f.Actions, Expect: f.Expect}
	if s.Path == name+".yaml" {
		s.Path = ""
	}
	if strings.TrimSpace(f.About) == "" || strings.Contains(f.About, "\n") {
		return nil, fail("about: one line saying what the scenario covers is required")
	}
	if f.Job.Kind == 0 {
		return nil, fail("job: the Job manifest is required")
	}
	var err error
	if s.manifest, err = yaml.Marshal(&f.Job); err != nil {
		return nil, fail("job: %v", err)
	}
	if s.job, err = jobspec.Parse(source+" job", bytes.NewReader(s.manifest)); err != nil {
		return nil, fail("job (line numbers relative to the job: block): %v", err)
	}
	if err := s.validateRules(); err != nil {
		return nil, fail("%v", err)
	}
	if err := s.validateActions(); err != nil {
		return nil, fail("%v", err)
	}
	if s.Expect != nil {
		if err := s.Expect.validate(); err != nil {
			return nil, fail("expect: %v", err)
		}
	}
	return s, nil
}

// Manifest is the job: block as YAML, ready for jobspec.Parse or kubectl.
func (s *Scenario) Manifest() []byte { return slices.Clone(s.manifest) }

// Job is the parsed manifest; every call returns a fresh copy to change.
func (s *Scenario) Job() *jobspec.Job {
	j, err := jobspec.Parse(s.Name, bytes.NewReader(s.manifest))
	if err != nil {
		panic(err) // it parsed in Parse
	}
	return j
}

// Object is the Kubernetes Job as written, a fresh copy.
func (s *Scenario) Object() *batchv1.Job { return s.Job().Object }

// Indexed reports whether the job uses completionMode Indexed.
func (s *Scenario) Indexed() bool { return s.job.CompletionMode == jobspec.Indexed }

// TimingSensitive reports whether the outcome may depend on how long the
// retry delays are, not only on what each start does: deadlines, timed
// actions, pods that run until something stops them, and pods or containers
// that run side by side (a retry may come before or after a sibling
// finishes). A run with other delays (a shorter local backoff) keeps the
// outcome of the others only.
func (s *Scenario) TimingSensitive() bool {
	spec := s.job.Object.Spec
	if spec.ActiveDeadlineSeconds != nil || spec.Template.Spec.ActiveDeadlineSeconds != nil || len(s.Actions) > 0 {
		return true
	}
	side := s.job.Parallelism
	if !s.job.WorkQueue {
		side = min(side, s.job.Completions)
	}
	if side > 1 || len(s.job.Template.Containers) > 1 {
		return true
	}
	for _, r := range s.Rules {
		if r.Hang || r.Evict {
			return true
		}
	}
	return false
}

func (s *Scenario) validateActions() error {
	for i, a := range s.Actions {
		if a.Suspend == a.Resume {
			return fmt.Errorf("actions[%d]: exactly one of suspend: true or resume: true", i)
		}
		if a.At.D() <= 0 {
			return fmt.Errorf("actions[%d]: at: a positive duration is required", i)
		}
	}
	sort.SliceStable(s.Actions, func(i, j int) bool { return s.Actions[i].At < s.Actions[j].At })
	return nil
}

// Duration is a Go duration written as text ("2s", "1m30s").
type Duration time.Duration

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 2s", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: want a non-negative duration such as 2s, got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }
