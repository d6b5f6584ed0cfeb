package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testSettings stand for what backends declare; config knows none itself.
var testSettings = []Setting{
	{Key: "backend", Env: "BATCHCTL_BACKEND", Default: "local", Type: Choice, Choices: []string{"local", "k8s", "nomad"}},
	{Key: "namespace", Env: "BATCHCTL_NAMESPACE"},
	{Key: "local.backoff", Env: "BATCHCTL_LOCAL_BACKOFF", Default: "10s", Type: Duration},
	{Key: "local.backoff-cap", Env: "BATCHCTL_LOCAL_BACKOFF_CAP", Default: "10m", Type: Duration},
	{Key: "local.state-dir", Env: "BATCHCTL_LOCAL_STATE_DIR", Type: Path, Derive: func(v *View) (string, string, bool) {
		if base := v.Getenv("XDG_STATE_HOME"); base != "" {
			return filepath.Join(base, "batchctl"), "env XDG_STATE_HOME", true
		}
		return "", "", false
	}},
	{Key: "k8s.kubeconfig", Env: "BATCHCTL_K8S_KUBECONFIG", Type: Path, FallbackEnv: "KUBECONFIG"},
	{Key: "k8s.context", Env: "BATCHCTL_K8S_CONTEXT", Derive: func(v *View) (string, string, bool) {
		if p := v.String("k8s.kubeconfig"); p != "" {
			return "ctx-of-" + filepath.Base(p), "current-context of " + p, true
		}
		return "", "", false
	}},
	{Key: "nomad.addr", Env: "BATCHCTL_NOMAD_ADDR", FallbackEnv: "NOMAD_ADDR", Default: "http://127.0.0.1:4646"},
	{Key: "nomad.token", Env: "BATCHCTL_NOMAD_TOKEN", FallbackEnv: "NOMAD_TOKEN", Secret: true},
	{Key: "nomad.skip-verify", Env: "BATCHCTL_NOMAD_SKIP_VERIFY", FallbackEnv: "NOMAD_SKIP_VERIFY", Default: "false", Type: Bool},
}

func load(t *testing.T, o Options) *Resolved {
	t.Helper()
	o.Settings = testSettings
	r, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLayersOverrideInOrder(t *testing.T) {
	path := writeConfig(t, `
backend: nomad
local:
  backoff: 2s
current-context: dev
contexts:
  dev:
    backend: k8s
    namespace: batch
    k8s:
      context: kind-dev
`)
	r := load(t, Options{
		ConfigFile: path,
		Getenv:     env(map[string]string{"BATCHCTL_LOCAL_BACKOFF": "3s", "BATCHCTL_NAMESPACE": "from-env"}),
		Flags:      map[string]string{"namespace": "from-flag"},
	})
	if r.String("backend") != "k8s" || r.Context != "dev" || r.String("k8s.context") != "kind-dev" {
		t.Errorf("context not applied: backend %q context %q k8s.context %q", r.String("backend"), r.Context, r.String("k8s.context"))
	}
	if got := r.Duration("local.backoff").String(); got != "3s" {
		t.Errorf("env should beat file: backoff %v", got)
	}
	if r.String("namespace") != "from-flag" {
		t.Errorf("flag should beat env: namespace %q", r.String("namespace"))
	}
	for key, want := range map[string]string{
		"backend":           "context dev (" + path + ")",
		"local.backoff":     "env BATCHCTL_LOCAL_BACKOFF",
		"namespace":         "flag",
		"local.backoff-cap": "default",
		"local.state-dir":   "unset",
	} {
		if got := r.Source(key); got != want {
			t.Errorf("source of %s = %q, want %q", key, got, want)
		}
	}
}

// The platform's own conventions fill what batchctl's layers leave unset,
// before the built-in default, and say so.
func TestFallbacksNameTheirSource(t *testing.T) {
	home := t.TempDir()
	r := load(t, Options{Getenv: env(map[string]string{
		"HOME": home, "NOMAD_ADDR": "http://nomad:4646", "NOMAD_TOKEN": "tok",
		"KUBECONFIG": "~/.kube/prod", "XDG_STATE_HOME": "/var/state",
	})})
	for _, c := range []struct{ key, value, source string }{
		{"nomad.addr", "http://nomad:4646", "env NOMAD_ADDR"},
		{"nomad.token", "tok", "env NOMAD_TOKEN"},
		{"k8s.kubeconfig", filepath.Join(home, ".kube/prod"), "env KUBECONFIG"},
		{"k8s.context", "ctx-of-prod", "current-context of " + filepath.Join(home, ".kube/prod")},
		{"local.state-dir", "/var/state/batchctl", "env XDG_STATE_HOME"},
		{"nomad.skip-verify", "false", "default"},
	} {
		if v := r.Value(c.key); v.Value != c.value || v.Source != c.source {
			t.Errorf("%s = %q from %q, want %q from %q", c.key, v.Value, v.Source, c.value, c.source)
		}
	}
	if got := r.Layered("k8s.kubeconfig"); got != "" {
		t.Errorf("Layered(k8s.kubeconfig) = %q, want empty: KUBECONFIG is client-go's to apply", got)
	}
	if got := r.ConsumedEnv(); len(got) != 1 || got[0] != "NOMAD_TOKEN" {
		t.Errorf("ConsumedEnv = %v, want [NOMAD_TOKEN]", got)
	}
	// A batchctl layer beats the platform's variable.
	r = load(t, Options{Getenv: env(map[string]string{"NOMAD_ADDR": "http://nomad:4646", "BATCHCTL_NOMAD_ADDR": "http://mine:4646"})})
	if v := r.Value("nomad.addr"); v.Value != "http://mine:4646" || v.Source != "env BATCHCTL_NOMAD_ADDR" {
		t.Errorf("nomad.addr = %+v", v)
	}
}

// The README's own sample: `k8s: {kubeconfig: ~/.kube/prod}`.
func TestTildeExpandsInPaths(t *testing.T) {
	home := t.TempDir()
	path := writeConfig(t, "k8s: {kubeconfig: ~/.kube/prod}\n")
	r := load(t, Options{ConfigFile: path, Getenv: env(map[string]string{"HOME": home})})
	if got, want := r.String("k8s.kubeconfig"), filepath.Join(home, ".kube", "prod"); got != want {
		t.Errorf("kubeconfig = %q, want %q", got, want)
	}
	if got := r.Layered("k8s.kubeconfig"); got != filepath.Join(home, ".kube", "prod") {
		t.Errorf("Layered = %q", got)
	}
}

func TestContextSelection(t *testing.T) {
	path := writeConfig(t, "current-context: a\ncontexts:\n  a: {backend: k8s}\n  b: {backend: nomad}\n")
	r := load(t, Options{ConfigFile: path, Getenv: env(map[string]string{"BATCHCTL_CONTEXT": "b"})})
	if r.String("backend") != "nomad" {
		t.Fatalf("BATCHCTL_CONTEXT should select b: %q", r.String("backend"))
	}
	r = load(t, Options{ConfigFile: path, Context: "a", Getenv: env(map[string]string{"BATCHCTL_CONTEXT": "b"})})
	if r.String("backend") != "k8s" {
		t.Fatalf("--context should beat BATCHCTL_CONTEXT: %q", r.String("backend"))
	}
	_, err := Load(Options{Settings: testSettings, ConfigFile: path, Context: "nope", Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), `context "nope"`) || !strings.Contains(err.Error(), "defined: a, b") {
		t.Fatalf("unknown context error = %v", err)
	}
}

func TestBadInputNamesTheSource(t *testing.T) {
	path := writeConfig(t, "nomad:\n  adr: x\n")
	if _, err := Load(Options{Settings: testSettings, ConfigFile: path, Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "unknown key nomad.adr") {
		t.Errorf("unknown key: %v", err)
	}
	_, err := Load(Options{Settings: testSettings, Getenv: env(map[string]string{"HOME": t.TempDir(), "BATCHCTL_LOCAL_BACKOFF": "soon"})})
	if err == nil || !strings.Contains(err.Error(), "env BATCHCTL_LOCAL_BACKOFF") || !strings.Contains(err.Error(), "e.g. 10s") {
		t.Errorf("bad duration: %v", err)
	}
	_, err = Load(Options{Settings: testSettings, Getenv: env(nil), Flags: map[string]string{"backend": "slurm"}})
	if err == nil || !strings.Contains(err.Error(), `backend (from flag): unknown value "slurm" (known: local, k8s, nomad)`) {
		t.Errorf("bad choice: %v", err)
	}
	if _, err := Load(Options{Settings: testSettings, ConfigFile: filepath.Join(t.TempDir(), "missing.yaml"), Getenv: env(nil)}); err == nil {
		t.Error("a named config file that does not exist must be an error")
	}
	// A bad value from a platform variable reads as unset rather than
	// failing every command.
	r := load(t, Options{Getenv: env(map[string]string{"NOMAD_SKIP_VERIFY": "maybe"})})
	if v := r.Value("nomad.skip-verify"); v.Value != "false" || v.Source != "default (ignored invalid env NOMAD_SKIP_VERIFY)" {
		t.Errorf("skip-verify = %+v", v)
	}
}

func TestDefaultFileIsOptional(t *testing.T) {
	r := load(t, Options{Getenv: env(map[string]string{"XDG_CONFIG_HOME": t.TempDir()})})
	if r.File != "" || r.String("backend") != "local" {
		t.Fatalf("got file %q backend %q", r.File, r.String("backend"))
	}
}

func TestSecretsNeverFormat(t *testing.T) {
	s := struct{ Token Secret }{"s3cr3t"}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("formatted settings leak the token: %s", out)
		}
	}
	if string(s.Token) != "s3cr3t" {
		t.Error("the token itself must stay usable")
	}
}

func TestUndeclaredReadPanics(t *testing.T) {
	v, err := Fixed(testSettings, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("reading an undeclared key must panic")
		}
	}()
	v.String("local.nope")
}
