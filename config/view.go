package config

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Value is one effective setting, where it came from and its built-in
// default, as `config view` shows it.
type Value struct {
	Key     string `json:"key" yaml:"key"`
	Value   string `json:"value" yaml:"value"`
	Default string `json:"default" yaml:"default"`
	// Source is "default", "file PATH", "context NAME (PATH)", "env NAME",
	// "flag", a fallback's own ("env NOMAD_ADDR", "kubeconfig PATH"), or
	// "unset".
	Source string `json:"source" yaml:"source"`
	Secret bool   `json:"secret,omitempty" yaml:"secret,omitempty"`
	Help   string `json:"help" yaml:"help"`
}

// View reads the effective settings. Values a fallback supplies are worked
// out on first read, so a command pays only for what it uses. A View is
// not safe for concurrent use.
type View struct {
	order    []*Setting
	settings map[string]*Setting
	layered  map[string]Value // from the layers
	fallback map[string]Value // worked out lazily
	busy     map[string]bool  // guards Derive cycles
	getenv   func(string) string
}

func newView(settings []Setting, getenv func(string) string) (*View, error) {
	v := &View{settings: map[string]*Setting{}, layered: map[string]Value{}, fallback: map[string]Value{}, busy: map[string]bool{}, getenv: getenv}
	for i := range settings {
		s := &settings[i]
		if s.Key == "" || v.settings[s.Key] != nil {
			return nil, fmt.Errorf("internal: setting %q declared twice or without a key", s.Key)
		}
		v.settings[s.Key] = s
		v.order = append(v.order, s)
	}
	return v, nil
}

// Fixed is a View holding exactly values (as if given as flags) over the
// defaults, reading no file and no environment: for tests and for code that
// builds a backend by hand.
func Fixed(settings []Setting, values map[string]string) (*View, error) {
	r, err := Load(Options{Settings: settings, Flags: values, Getenv: func(string) string { return "" }})
	if err != nil {
		return nil, err
	}
	return r.View, nil
}

func (v *View) setValue(key, value, source string) {
	s := v.settings[key]
	if s.Type == Path {
		value = expandHome(value, v.getenv)
	}
	v.layered[key] = Value{Key: key, Value: value, Default: s.Default, Source: source, Secret: s.Secret, Help: s.Help}
}

// Value returns the effective value of key with its source: the layers'
// (file, context, BATCHCTL_* variable, flag), else the platform's own
// variable (FallbackEnv), else what Derive finds, else the Default. Reading
// an undeclared key is a programming error.
func (v *View) Value(key string) Value {
	s := v.settings[key]
	if s == nil {
		panic("config: read of undeclared setting " + key)
	}
	if val, ok := v.layered[key]; ok {
		return val
	}
	if val, ok := v.fallback[key]; ok {
		return val
	}
	val := Value{Key: key, Default: s.Default, Source: "unset", Secret: s.Secret, Help: s.Help}
	var ignored string
	// A bad value from a platform convention is passed over rather than
	// failing commands that do not use it; config view says so.
	accept := func(value, source string) bool {
		if s.Type == Path {
			value = expandHome(value, v.getenv)
		}
		if s.check(value, source) != nil {
			ignored = " (ignored invalid " + source + ")"
			return false
		}
		val.Value, val.Source = value, source
		return true
	}
	found := false
	if e := s.FallbackEnv; e != "" && v.getenv(e) != "" {
		found = accept(v.getenv(e), "env "+e)
	}
	if !found && s.Derive != nil && !v.busy[key] {
		v.busy[key] = true
		if value, src, ok := s.Derive(v); ok {
			found = accept(value, src)
		}
		delete(v.busy, key)
	}
	if !found && s.Default != "" {
		val.Value, val.Source = s.Default, "default"
	}
	val.Source += ignored
	v.fallback[key] = val
	return val
}

// String is the effective value of key ("" when unset).
func (v *View) String(key string) string { return v.Value(key).Value }

// Source says where key's value came from.
func (v *View) Source(key string) string { return v.Value(key).Source }

// Layered is key's value when one of batchctl's layers (file, context,
// BATCHCTL_* variable, flag) sets it, else "": for backends whose client
// library applies the platform's conventions itself (client-go reads
// KUBECONFIG), so that what `config view` derives is shown, not applied twice.
func (v *View) Layered(key string) string {
	return v.layered[key].Value
}

// Duration reads a Duration setting; unset is 0.
func (v *View) Duration(key string) time.Duration {
	d, _ := time.ParseDuration(v.String(key)) // checked by Load
	return d
}

// Bool reads a Bool setting; unset is false.
func (v *View) Bool(key string) bool {
	b, _ := strconv.ParseBool(v.String(key)) // checked by Load
	return b
}

// Secret reads a secret setting.
func (v *View) Secret(key string) Secret { return Secret(v.String(key)) }

// Getenv reads the environment the settings were loaded from.
func (v *View) Getenv(name string) string { return v.getenv(name) }

// Values lists every setting in declaration order, fallbacks worked out.
func (v *View) Values() []Value {
	out := make([]Value, 0, len(v.order))
	for _, s := range v.order {
		out = append(out, v.Value(s.Key))
	}
	return out
}

// Settings lists the declared settings in order.
func (v *View) Settings() []Setting {
	out := make([]Setting, len(v.order))
	for i, s := range v.order {
		out[i] = *s
	}
	return out
}

// ConsumedEnv lists the environment variables that hold batchctl's own
// credentials: every BATCHCTL_* variable, and the platform variables secret
// settings fall back on (NOMAD_TOKEN). Processes batchctl starts for a job
// must not see them.
func (v *View) ConsumedEnv() []string {
	var out []string
	for _, s := range v.order {
		if s.Secret && s.FallbackEnv != "" {
			out = append(out, s.FallbackEnv)
		}
	}
	return out
}

// expandHome turns a leading "~" or "~/" into the home directory, as a shell
// would, so `kubeconfig: ~/.kube/prod` in a config file works.
func expandHome(p string, getenv func(string) string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home := getenv("HOME")
	if home == "" {
		return p
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~"))
}
