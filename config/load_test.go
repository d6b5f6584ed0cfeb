package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func source(r *Resolved, key string) string {
	for _, v := range r.Values {
		if v.Key == key {
			return v.Source
		}
	}
	return ""
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
	r, err := Load(Options{
		ConfigFile: path,
		Getenv:     env(map[string]string{"BATCHCTL_LOCAL_BACKOFF": "3s", "BATCHCTL_NAMESPACE": "from-env"}),
		Flags:      map[string]string{"namespace": "from-flag"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Settings
	if s.Backend != "k8s" || s.Context != "dev" || s.K8s.Context != "kind-dev" {
		t.Errorf("context not applied: %+v", s)
	}
	if s.Local.Backoff != 3*time.Second {
		t.Errorf("env should beat file: backoff %v", s.Local.Backoff)
	}
	if s.Namespace != "from-flag" {
		t.Errorf("flag should beat env: namespace %q", s.Namespace)
	}
	if s.Local.BackoffCap != 10*time.Minute || s.Nomad.Driver != "raw_exec" {
		t.Errorf("defaults lost: %+v", s)
	}
	for key, want := range map[string]string{
		"backend":         "context dev (" + path + ")",
		"local.backoff":   "env BATCHCTL_LOCAL_BACKOFF",
		"namespace":       "flag",
		"nomad.driver":    "default",
		"local.state-dir": "",
	} {
		if got := source(r, key); got != want {
			t.Errorf("source of %s = %q, want %q", key, got, want)
		}
	}
}

func TestContextSelection(t *testing.T) {
	path := writeConfig(t, "current-context: a\ncontexts:\n  a: {backend: k8s}\n  b: {backend: nomad}\n")
	r, err := Load(Options{ConfigFile: path, Getenv: env(map[string]string{"BATCHCTL_CONTEXT": "b"})})
	if err != nil || r.Settings.Backend != "nomad" {
		t.Fatalf("BATCHCTL_CONTEXT should select b: %v %+v", err, r)
	}
	r, err = Load(Options{ConfigFile: path, Context: "a", Getenv: env(map[string]string{"BATCHCTL_CONTEXT": "b"})})
	if err != nil || r.Settings.Backend != "k8s" {
		t.Fatalf("--context should beat BATCHCTL_CONTEXT: %v %+v", err, r)
	}
	_, err = Load(Options{ConfigFile: path, Context: "nope", Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), `context "nope"`) || !strings.Contains(err.Error(), "defined: a, b") {
		t.Fatalf("unknown context error = %v", err)
	}
}

func TestBadInputNamesTheSource(t *testing.T) {
	path := writeConfig(t, "nomad:\n  adr: x\n")
	if _, err := Load(Options{ConfigFile: path, Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "unknown key nomad.adr") {
		t.Errorf("unknown key: %v", err)
	}
	_, err := Load(Options{Getenv: env(map[string]string{"HOME": t.TempDir(), "BATCHCTL_LOCAL_BACKOFF": "soon"})})
	if err == nil || !strings.Contains(err.Error(), "env BATCHCTL_LOCAL_BACKOFF") {
		t.Errorf("bad duration: %v", err)
	}
	if _, err := Load(Options{ConfigFile: filepath.Join(t.TempDir(), "missing.yaml"), Getenv: env(nil)}); err == nil {
		t.Error("a named config file that does not exist must be an error")
	}
}

func TestDefaultFileIsOptional(t *testing.T) {
	r, err := Load(Options{Getenv: env(map[string]string{"XDG_CONFIG_HOME": t.TempDir()})})
	if err != nil || r.File != "" || r.Settings.Backend != "local" {
		t.Fatalf("got %v %+v", err, r)
	}
}

func TestSecretsNeverFormat(t *testing.T) {
	s := Settings{Nomad: NomadSettings{Token: "s3cr3t"}}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("formatted settings leak the token: %s", out)
		}
	}
	if string(s.Nomad.Token) != "s3cr3t" {
		t.Error("the token itself must stay usable")
	}
}
