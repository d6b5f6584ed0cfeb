package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dockerPlan is the daemon runtime docker uses: local.docker-host or
// DOCKER_HOST when set, else the endpoint of the Docker CLI's current
// context (DOCKER_CONTEXT, else config.json's currentContext), else the
// default socket, as the Docker CLI chooses.
func (b *backend) dockerPlan() (*DockerPlan, error) {
	if b.dockerHost != "" {
		return &DockerPlan{Host: b.dockerHost}, nil
	}
	return dockerContextPlan(os.Getenv)
}

// dockerContextPlan reads the Docker CLI's context store by hand: it is two
// small JSON files, where the CLI's own store package would bring in
// github.com/docker/cli, a module many times batchctl's size.
func dockerContextPlan(getenv func(string) string) (*DockerPlan, error) {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return &DockerPlan{}, nil
		}
		dir = filepath.Join(home, ".docker")
	}
	name := getenv("DOCKER_CONTEXT")
	if name == "" {
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("docker config %s: %w", filepath.Join(dir, "config.json"), err)
		default:
			if err := json.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("docker config %s: %w", filepath.Join(dir, "config.json"), err)
			}
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return &DockerPlan{}, nil
	}
	// The store names a context's directory by its name's SHA-256.
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("docker context %q does not exist (no %s)", name, metaPath)
	}
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("docker context %q: %s: %w", name, metaPath, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return nil, fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	if ep.SkipTLSVerify {
		return nil, fmt.Errorf("docker context %q skips TLS verification, which batchctl does not do: set DOCKER_HOST (with DOCKER_CERT_PATH) instead", name)
	}
	p := &DockerPlan{Host: ep.Host, Context: name}
	if tls := filepath.Join(dir, "contexts", "tls", id, "docker"); dirExists(tls) {
		p.TLSDir = tls
	}
	return p, nil
}
