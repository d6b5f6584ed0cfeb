package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Options say which settings exist and where their values come from.
type Options struct {
	// Settings are every declared setting, in the order `config view` shows
	// them. Keys must be unique.
	Settings []Setting
	// ConfigFile is --config; "" uses BATCHCTL_CONFIG, then
	// $XDG_CONFIG_HOME/batchctl/config.yaml (missing is fine).
	ConfigFile string
	// Context is --context; "" uses BATCHCTL_CONTEXT, then the file's current-context.
	Context string
	// Flags are the settings given as command-line flags, by key. Only flags
	// the user actually set belong here.
	Flags map[string]string
	// Getenv reads the environment; nil uses os.Getenv.
	Getenv func(string) string
}

// Resolved is the outcome of Load.
type Resolved struct {
	*View
	File          string   // the config file read, "" when none
	Context       string   // the context in force, "" when none
	ContextSource string   // what selected it: --context, BATCHCTL_CONTEXT, current-context
	Warnings      []string // for stderr: e.g. a readable file holding a secret
}

// Load merges the config file → the selected context → BATCHCTL_*
// environment → flags, later layers winning, records each value's source and
// checks every value against its setting's type; a key no layer sets falls
// back on its FallbackEnv, Derive, then Default (see View.Value). Errors
// name the key and the layer the bad value came from.
func Load(o Options) (*Resolved, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	v, err := newView(o.Settings, getenv)
	if err != nil {
		return nil, err
	}
	merged := koanf.New(".")
	source := map[string]string{}
	merge := func(layer *koanf.Koanf, name string) {
		for _, k := range layer.Keys() {
			if layer.String(k) != "" { // an empty value means "not set here"
				source[k] = name
			}
		}
		_ = merged.Merge(layer)
	}

	res := &Resolved{View: v}
	path, explicit := configPath(o.ConfigFile, getenv)
	fileLayer := koanf.New(".")
	if path != "" {
		if err := fileLayer.Load(file.Provider(path), yaml.Parser()); err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				path = ""
			} else {
				return nil, fmt.Errorf("config file %s: %w", path, err)
			}
		}
	}
	if path != "" {
		res.File = path
		if err := v.checkFileKeys(path, fileLayer); err != nil {
			return nil, err
		}
		merge(v.settingsOf(fileLayer), "file "+path)
	}

	ctxName, ctxFrom := o.Context, "--context"
	if ctxName == "" {
		ctxName, ctxFrom = getenv("BATCHCTL_CONTEXT"), "BATCHCTL_CONTEXT"
	}
	if ctxName == "" {
		ctxName, ctxFrom = fileLayer.String("current-context"), "current-context"
	}
	if ctxName != "" {
		contexts := fileLayer.Cut("contexts")
		if !contexts.Exists(ctxName) {
			known := contexts.MapKeys("")
			sort.Strings(known)
			return nil, fmt.Errorf("context %q (from %s) is not defined in %s (defined: %s)",
				ctxName, ctxFrom, orNone(path), orNone(strings.Join(known, ", ")))
		}
		merge(v.settingsOf(contexts.Cut(ctxName)), fmt.Sprintf("context %s (%s)", ctxName, path))
		res.Context, res.ContextSource = ctxName, ctxFrom
	}

	for _, s := range o.Settings {
		if val := getenv(s.Env); s.Env != "" && val != "" {
			env := koanf.New(".")
			_ = env.Set(s.Key, val)
			merge(env, "env "+s.Env)
		}
	}

	flags := koanf.New(".")
	for key, val := range o.Flags {
		if v.settings[key] == nil {
			return nil, fmt.Errorf("internal: flag for undeclared setting %q", key)
		}
		_ = flags.Set(key, val)
	}
	merge(flags, "flag")

	var errs []error
	for _, s := range o.Settings {
		src, ok := source[s.Key]
		if !ok {
			continue
		}
		val := merged.String(s.Key)
		if err := s.check(val, src); err != nil {
			errs = append(errs, err)
			continue
		}
		v.setValue(s.Key, val, src)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	res.Warnings = v.fileWarnings(path, fileLayer)
	return res, nil
}

// settingsOf keeps a file layer's declared keys, as strings (YAML may have
// typed them: `skip-verify: true`).
func (v *View) settingsOf(k *koanf.Koanf) *koanf.Koanf {
	out := koanf.New(".")
	for _, key := range k.Keys() {
		if v.settings[key] != nil {
			_ = out.Set(key, k.String(key))
		}
	}
	return out
}

// fileWarnings flags a config file others can read while it holds a secret.
func (v *View) fileWarnings(path string, k *koanf.Koanf) []string {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	for _, key := range k.Keys() {
		if s := v.settings[settingKey(key)]; s != nil && s.Secret {
			return []string{fmt.Sprintf("config file %s holds %s but is readable by others (mode %#o); chmod 600 it", path, key, fi.Mode().Perm())}
		}
	}
	return nil
}

// checkFileKeys rejects keys no setting declares, in every context too, so
// a typo is not silently ignored.
func (v *View) checkFileKeys(path string, k *koanf.Koanf) error {
	var bad []string
	for _, key := range k.Keys() {
		if key == "current-context" {
			continue
		}
		if name := settingKey(key); name == "" || v.settings[name] == nil {
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("config file %s: unknown key %s", path, strings.Join(bad, ", "))
	}
	return nil
}

// settingKey is the setting a file key sets: itself, or within a context.
func settingKey(fileKey string) string {
	if rest, ok := strings.CutPrefix(fileKey, "contexts."); ok {
		_, name, _ := strings.Cut(rest, ".")
		return name
	}
	return fileKey
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// configPath picks the file to read and whether the user named it (a named
// file must exist; the default one may not).
func configPath(flag string, getenv func(string) string) (string, bool) {
	if flag != "" {
		return flag, true
	}
	if p := getenv("BATCHCTL_CONFIG"); p != "" {
		return p, true
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return "", false
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "batchctl", "config.yaml"), false
}
