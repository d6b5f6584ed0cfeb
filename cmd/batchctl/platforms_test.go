package main

import (
	"fmt"
	"slices"
	"testing"
)

// platforms are the real backends' servers shared by every script of one
// run: starting a control plane per script would cost seconds each.
type platforms struct {
	available map[string]bool   // condition name ("k8s", "nomad") -> started
	env       map[string]string // exported to every script (KUBECONFIG, NOMAD_ADDR)
}

// platformStarters start a real platform for the scripts, or report that its
// binaries are not built (ok false: its scenarios skip). Each registers its
// own cleanup with t.
var platformStarters = map[string]func(t *testing.T) (env map[string]string, ok bool){}

func startPlatforms(t *testing.T) *platforms {
	p := &platforms{available: map[string]bool{}, env: map[string]string{}}
	for name, start := range platformStarters {
		env, ok := start(t)
		if !ok {
			t.Logf("[%s] scenarios skip: its server is not built", name)
			continue
		}
		p.available[name] = true
		for k, v := range env {
			p.env[k] = v
		}
	}
	return p
}

// platformConditions hold only where their platform's starter is built in:
// the Kubernetes harness is Linux only, the others Unix only.
var platformConditions = []string{"k8s", "k8s-real", "k8s-sim", "nomad"}

// dockerCondition, exported by a platform starter, makes [docker] hold: a
// Docker daemon runs for the platform's docker driver.
const dockerCondition = "BATCHCTL_SCRIPT_DOCKER"

func (p *platforms) condition(cond string) (bool, error) {
	if cond == "docker" {
		return p.env[dockerCondition] != "", nil
	}
	if _, ok := platformStarters[cond]; ok || slices.Contains(platformConditions, cond) {
		return p.available[cond], nil // [k8s], [nomad]: that platform runs
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
