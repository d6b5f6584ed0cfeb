//go:build unix

package main

import (
	"context"
	"testing"

	"github.com/batchctl/batchctl/e2e/dockerd"
)

func init() { platformStarters["docker"] = startDocker }

// startDocker makes [docker] hold when DOCKER_HOST names batchctl's private
// test daemon (make test's wrapper sets it for every test; make docker-up
// starts one by hand), and passes DOCKER_HOST to the scripts, where the
// local backend's runtime docker and the docker CLI find it. Scripts name
// their images, never pull them: the daemon has the test images.
func startDocker(t *testing.T) (map[string]string, bool) {
	d, err := dockerd.FromEnv(context.Background())
	if err != nil {
		t.Logf("[docker] scenarios skip: %v", err)
		return nil, false
	}
	return map[string]string{"DOCKER_HOST": d.Host, dockerCondition: "1"}, true
}
