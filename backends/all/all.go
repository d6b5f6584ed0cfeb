// Package all registers every backend batchctl ships, in one place. A new
// backend is its own package plus one line here.
package all

import (
	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/backends/k8s"
	"github.com/batchctl/batchctl/backends/local"
	"github.com/batchctl/batchctl/backends/nomad"
)

// Registry returns a registry holding every shipped backend; the first is
// the default.
func Registry() *backends.Registry {
	r := &backends.Registry{}
	r.Register(local.Registration)
	r.Register(k8s.Registration)
	r.Register(nomad.Registration)
	return r
}
