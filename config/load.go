package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Options say where settings come from besides the defaults.
type Options struct {
	// ConfigFile is --config; "" uses BATCHCTL_CONFIG, then
	// $XDG_CONFIG_HOME/batchctl/config.yaml (missing is fine).
	ConfigFile string
	// Context is --context; "" uses BATCHCTL_CONTEXT, then the file's current-context.
	Context string
	// Flags are the settings given as command-line flags, by key name. Only
	// flags the user actually set belong here.
	Flags map[string]string
	// Getenv reads the environment; nil uses os.Getenv.
	Getenv func(string) string
}

// Value is one effective setting and the layer it came from.
type Value struct {
	Key    string `json:"key" yaml:"key"`
	Value  string `json:"value" yaml:"value"`
	Source string `json:"source" yaml:"source"`
	Secret bool   `json:"-" yaml:"-"`
}

// Resolved is the outcome of Load.
type Resolved struct {
	Settings      Settings
	File          string   // the config file read, "" when none
	ContextSource string   // what selected the context: --context, BATCHCTL_CONTEXT, current-context
	Values        []Value  // every key, in Keys order
	Warnings      []string // for stderr: e.g. a readable file holding a secret
}

// Load merges defaults → config file → the selected context → BATCHCTL_*
// environment → flags, later layers winning, and records each value's source.
func Load(o Options) (*Resolved, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	merged := koanf.New(".")
	source := map[string]string{}
	merge := func(layer *koanf.Koanf, name string) {
		for _, k := range layer.Keys() {
			source[k] = name
		}
		_ = merged.Merge(layer)
	}

	defaults := map[string]any{}
	for _, k := range Keys {
		if k.Default != "" {
			defaults[k.Name] = k.Default
		}
	}
	merge(mustLayer(confmap.Provider(defaults, "."), nil), "default")

	path, explicit := configPath(o.ConfigFile, getenv)
	res := &Resolved{}
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
		if err := checkFileKeys(path, fileLayer); err != nil {
			return nil, err
		}
		top := koanf.New(".")
		for _, k := range Keys {
			if fileLayer.Exists(k.Name) {
				_ = top.Set(k.Name, fileLayer.String(k.Name))
			}
		}
		merge(top, "file "+path)
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
		cut := contexts.Cut(ctxName)
		layer := koanf.New(".")
		for _, k := range cut.Keys() {
			_ = layer.Set(k, cut.String(k))
		}
		merge(layer, fmt.Sprintf("context %s (%s)", ctxName, path))
		res.ContextSource = ctxFrom
	}

	for _, k := range Keys {
		if v, ok := lookupEnv(getenv, k.Env); ok {
			env := koanf.New(".")
			_ = env.Set(k.Name, v)
			merge(env, "env "+k.Env)
		}
	}

	flags := koanf.New(".")
	for name, v := range o.Flags {
		if _, ok := lookupKey(name); !ok {
			return nil, fmt.Errorf("internal: flag for unknown setting %q", name)
		}
		_ = flags.Set(name, v)
	}
	merge(flags, "flag")

	for _, k := range Keys {
		res.Values = append(res.Values, Value{Key: k.Name, Value: merged.String(k.Name), Source: source[k.Name], Secret: k.Secret})
	}
	s, err := settingsFrom(merged, source)
	if err != nil {
		return nil, err
	}
	s.Context = ctxName
	res.Settings = s
	res.Warnings = fileWarnings(path, fileLayer)
	return res, nil
}

// fileWarnings flags a config file others can read while it holds a secret.
func fileWarnings(path string, k *koanf.Koanf) []string {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	for _, key := range k.Keys() {
		name := key
		if rest, ok := strings.CutPrefix(key, "contexts."); ok {
			_, name, _ = strings.Cut(rest, ".")
		}
		if kk, ok := lookupKey(name); ok && kk.Secret {
			return []string{fmt.Sprintf("config file %s holds %s but is readable by others (mode %#o); chmod 600 it", path, key, fi.Mode().Perm())}
		}
	}
	return nil
}

func mustLayer(p koanf.Provider, parser koanf.Parser) *koanf.Koanf {
	k := koanf.New(".")
	if err := k.Load(p, parser); err != nil {
		panic(err) // only used for in-memory maps
	}
	return k
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
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

// checkFileKeys rejects keys batchctl does not know, in every context too,
// so a typo is not silently ignored.
func checkFileKeys(path string, k *koanf.Koanf) error {
	var bad []string
	for _, key := range k.Keys() {
		if key == "current-context" {
			continue
		}
		name := key
		if rest, ok := strings.CutPrefix(key, "contexts."); ok {
			_, name, _ = strings.Cut(rest, ".")
		}
		if _, ok := lookupKey(name); !ok || name == "" {
			bad = append(bad, key)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("config file %s: unknown key %s", path, strings.Join(bad, ", "))
	}
	return nil
}

func settingsFrom(k *koanf.Koanf, source map[string]string) (Settings, error) {
	var errs []string
	dur := func(key string) time.Duration {
		v := k.String(key)
		if v == "" {
			// An empty value in a file or env means "not set", not zero.
			kk, _ := lookupKey(key)
			if v = kk.Default; v == "" {
				return 0
			}
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Sprintf("%s (from %s): invalid duration %q", key, source[key], v))
		}
		return d
	}
	boolean := func(key string) bool {
		v := k.String(key)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s (from %s): invalid boolean %q", key, source[key], v))
		}
		return b
	}
	s := Settings{
		Backend:   k.String("backend"),
		Namespace: k.String("namespace"),
		Local: LocalSettings{
			StateDir:   k.String("local.state-dir"),
			Backoff:    dur("local.backoff"),
			BackoffCap: dur("local.backoff-cap"),
		},
		K8s: K8sSettings{
			Kubeconfig: k.String("k8s.kubeconfig"),
			Context:    k.String("k8s.context"),
		},
		Nomad: NomadSettings{
			Addr:       k.String("nomad.addr"),
			Token:      Secret(k.String("nomad.token")),
			Region:     k.String("nomad.region"),
			Namespace:  k.String("nomad.namespace"),
			CACert:     k.String("nomad.ca-cert"),
			ClientCert: k.String("nomad.client-cert"),
			ClientKey:  k.String("nomad.client-key"),
			SkipVerify: boolean("nomad.skip-verify"),
			Driver:     k.String("nomad.driver"),
			Backoff:    dur("nomad.backoff"),
			BackoffCap: dur("nomad.backoff-cap"),
		},
	}
	if len(errs) > 0 {
		return s, errors.New(strings.Join(errs, "\n"))
	}
	return s, nil
}
