package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batchctl/batchctl/jobspec"
)

// Rule says what the container starts it matches do. Unset matchers match
// anything.
type Rule struct {
	Index     *int32 `yaml:"index"`
	Start     *int   `yaml:"start"`
	Container string `yaml:"container"`

	Exit          *int32   `yaml:"exit"`
	After         Duration `yaml:"after"`
	Hang          bool     `yaml:"hang"`
	Evict         bool     `yaml:"evict"`
	IgnoreSigterm bool     `yaml:"ignoreSigterm"`
}

// Effect is what one container start does.
type Effect struct {
	// Exit is the exit code after After, unless Hang or Evict.
	Exit  int32
	After time.Duration
	// Hang: the container runs until it is stopped.
	Hang bool
	// Evict: the container runs until, After from its start, the node evicts
	// its pod (the kubelet's node-pressure eviction).
	Evict bool
	// IgnoreSigterm: only SIGKILL stops it (exit 137 after the grace period);
	// otherwise SIGTERM ends it at once with 143.
	IgnoreSigterm bool
}

func (e Effect) String() string {
	var s string
	switch {
	case e.Hang:
		s = "hang"
	case e.Evict:
		s = fmt.Sprintf("evicted after %v", e.After)
	default:
		s = fmt.Sprintf("exit %d after %v", e.Exit, e.After)
	}
	if e.IgnoreSigterm {
		s += ", ignoring SIGTERM"
	}
	return s
}

// Behaviour is the effect of the start-th start (0-based) of container at
// completion index index (nil for NonIndexed jobs): the first matching
// rule's. Parse made sure the last rule matches everything.
func (s *Scenario) Behaviour(index *int32, start int, container string) Effect {
	for _, r := range s.Rules {
		if r.matches(index, start, container) {
			return r.effect()
		}
	}
	panic("scenario " + s.Name + ": no rule matched; Parse should have refused it")
}

func (r Rule) matches(index *int32, start int, container string) bool {
	if r.Index != nil && (index == nil || *index != *r.Index) {
		return false
	}
	if r.Start != nil && start != *r.Start {
		return false
	}
	return r.Container == "" || r.Container == container
}

func (r Rule) effect() Effect {
	e := Effect{After: r.After.D(), Hang: r.Hang, Evict: r.Evict, IgnoreSigterm: r.IgnoreSigterm}
	if r.Exit != nil {
		e.Exit = *r.Exit
	}
	return e
}

func (r Rule) unconditional() bool { return r.Index == nil && r.Start == nil && r.Container == "" }

func (s *Scenario) validateRules() error {
	if len(s.Rules) == 0 {
		return fmt.Errorf("pods: at least one rule is required")
	}
	var names []string
	for _, cs := range [][]jobspec.Container{s.job.Template.InitContainers, s.job.Template.Containers} {
		for _, c := range cs {
			names = append(names, c.Name)
		}
	}
	for i, r := range s.Rules {
		at := fmt.Sprintf("pods[%d]", i)
		effects := 0
		for _, set := range []bool{r.Exit != nil, r.Hang, r.Evict} {
			if set {
				effects++
			}
		}
		if effects != 1 {
			return fmt.Errorf("%s: exactly one of exit, hang: true or evict: true is required", at)
		}
		if r.Hang && r.After != 0 {
			return fmt.Errorf("%s: hang runs until stopped; after does not apply", at)
		}
		if r.Evict && r.After == 0 {
			return fmt.Errorf("%s: evict needs after: how long the pod runs before the node evicts it", at)
		}
		if r.Exit != nil && (*r.Exit < 0 || *r.Exit > 255) {
			return fmt.Errorf("%s: exit must be 0..255, got %d", at, *r.Exit)
		}
		if r.Index != nil {
			if !s.Indexed() {
				return fmt.Errorf("%s: index applies to Indexed jobs only", at)
			}
			if *r.Index < 0 || *r.Index >= s.job.Completions {
				return fmt.Errorf("%s: index %d is not below completions (%d)", at, *r.Index, s.job.Completions)
			}
		}
		if r.Start != nil && *r.Start < 0 {
			return fmt.Errorf("%s: start must be >= 0", at)
		}
		if r.Container != "" && !slices.Contains(names, r.Container) {
			return fmt.Errorf("%s: container %q is not in the job (%s)", at, r.Container, strings.Join(names, ", "))
		}
	}
	if !s.Rules[len(s.Rules)-1].unconditional() {
		return fmt.Errorf("pods: the last rule must match every start (no index, start or container), so every start has a behaviour")
	}
	return nil
}
