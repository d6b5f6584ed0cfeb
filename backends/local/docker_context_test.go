package local

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDockerContextPlan(t *testing.T) {
	dir := t.TempDir()
	writeContext := func(name, meta string, tls bool) {
		sum := sha256.Sum256([]byte(name))
		id := hex.EncodeToString(sum[:])
		p := filepath.Join(dir, "contexts", "meta", id)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "meta.json"), []byte(meta), 0o600); err != nil {
			t.Fatal(err)
		}
		if tls {
			if err := os.MkdirAll(filepath.Join(dir, "contexts", "tls", id, "docker"), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeContext("remote", `{"Name":"remote","Endpoints":{"docker":{"Host":"tcp://build:2376","SkipTLSVerify":false}}}`, true)
	writeContext("sock", `{"Name":"sock","Endpoints":{"docker":{"Host":"unix:///run/other.sock"}}}`, false)
	writeContext("insecure", `{"Name":"insecure","Endpoints":{"docker":{"Host":"tcp://x:2375","SkipTLSVerify":true}}}`, false)
	env := map[string]string{"DOCKER_CONFIG": dir}
	getenv := func(k string) string { return env[k] }

	for _, c := range []struct {
		context, config string
		host, err       string
		tls             bool
	}{
		{host: ""}, // no config.json: the default socket
		{context: "default", host: ""},
		{context: "sock", host: "unix:///run/other.sock"},
		{context: "remote", host: "tcp://build:2376", tls: true},
		{config: `{"currentContext":"sock"}`, host: "unix:///run/other.sock"},
		{config: `{"currentContext":"default"}`, host: ""},
		{context: "sock", config: `{"currentContext":"remote"}`, host: "unix:///run/other.sock"}, // DOCKER_CONTEXT wins
		{context: "nosuch", err: `docker context "nosuch" does not exist`},
		{context: "insecure", err: "skips TLS verification"},
		{config: `{"currentContext":`, err: "docker config"},
	} {
		env["DOCKER_CONTEXT"] = c.context
		cfg := filepath.Join(dir, "config.json")
		_ = os.Remove(cfg)
		if c.config != "" {
			if err := os.WriteFile(cfg, []byte(c.config), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		p, err := dockerContextPlan(getenv)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("context %q, config %q: error %v, want %q", c.context, c.config, err, c.err)
			}
		case err != nil:
			t.Errorf("context %q, config %q: %v", c.context, c.config, err)
		case p.Host != c.host || (p.TLSDir != "") != c.tls:
			t.Errorf("context %q, config %q: host %q, tls %q; want %q, tls %v", c.context, c.config, p.Host, p.TLSDir, c.host, c.tls)
		}
	}
}
