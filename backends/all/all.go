// Package all registers every backend batchctl ships, in one place.
package all

import (
	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/k8s"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/backends/nomad"
)

// Registry returns a registry holding every shipped backend.
func Registry() *backends.Registry {
	r := &backends.Registry{}
	r.Register("local", local.New)
	r.Register("nomad", nomad.New)
	r.Register(k8s.Name, k8s.New)
	return r
}
