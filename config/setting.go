// Package config merges batchctl's settings: built-in defaults, then the
// config file, then the selected context, then BATCHCTL_* environment
// variables, then command-line flags; a setting none of them sets may fall
// back on the platform's own convention (NOMAD_ADDR, KUBECONFIG, ...).
//
// The package knows no setting itself: backends declare theirs (see
// backends.Registration) and config layers whatever it is given.
package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type says how a setting's text is checked and read.
type Type int

const (
	String   Type = iota
	Duration      // a Go duration ("10s"), never negative
	Bool          // strconv.ParseBool
	Path          // a file or directory; a leading ~ is the home directory
	Choice        // one of Setting.Choices
)

// Setting declares one setting.
type Setting struct {
	// Key is the dotted name in the config file: a backend's keys start
	// with its name ("nomad.addr").
	Key string
	// Env is batchctl's own environment variable for it (BATCHCTL_...).
	Env     string
	Default string
	Help    string
	Type    Type
	Choices []string // for Choice
	// Secret values are never printed, and Fallback's variable never
	// reaches a job's environment.
	Secret bool
	// Flag is the long command-line flag that sets it on every command that
	// talks to a backend ("" for none); Alias its one-letter form.
	Flag, Alias string
	// FallbackEnv is the platform's own variable read when no batchctl layer
	// sets the key (NOMAD_ADDR), as the platform's CLI would.
	FallbackEnv string
	// Derive computes the value when no layer and no FallbackEnv set it, from
	// other settings or the machine (the kubeconfig's current-context), with
	// a source naming where it came from; ok false leaves the key unset. It
	// runs only when the value is read.
	Derive func(v *View) (value, source string, ok bool)
}

// check validates a value of s given by source.
func (s *Setting) check(value, source string) error {
	if value == "" {
		return nil
	}
	bad := func(what, want string) error {
		return fmt.Errorf("%s (from %s): %s %q (%s)", s.Key, source, what, value, want)
	}
	switch s.Type {
	case Duration:
		if d, err := time.ParseDuration(value); err != nil || d < 0 {
			return bad("invalid duration", "want e.g. 10s, 1m30s")
		}
	case Bool:
		if _, err := strconv.ParseBool(value); err != nil {
			return bad("invalid boolean", "want true or false")
		}
	case Choice:
		if !slices.Contains(s.Choices, value) {
			return bad("unknown value", "known: "+strings.Join(s.Choices, ", "))
		}
	}
	return nil
}

// Secret is a credential: fmt prints it redacted, so a stray %v cannot leak
// it. Use string(s) where the value is needed.
type Secret string

func (Secret) String() string   { return "<redacted>" }
func (Secret) GoString() string { return `"<redacted>"` }

// Redacted is how a secret value is shown.
const Redacted = "<redacted>"
