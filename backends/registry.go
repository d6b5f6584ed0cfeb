package backends

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/batchctl/batchctl/config"
)

// Factory builds a backend from the effective settings. Notes meant for the
// user (not errors) go to stderr. A factory must not contact the platform:
// connection problems surface on the first call, as ErrUnavailable.
type Factory func(s config.Settings, stderr io.Writer) (Backend, error)

// Registry maps backend names to factories. It is filled explicitly, in one
// place (backends/all), rather than by init side effects.
type Registry struct {
	factories map[string]Factory
}

// Register adds a backend; registering a name twice is a programming error.
func (r *Registry) Register(name string, f Factory) {
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	if _, dup := r.factories[name]; dup {
		panic("backends: duplicate registration of " + name)
	}
	r.factories[name] = f
}

// Names lists the registered backends, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the named backend; an unknown name lists the known ones.
func (r *Registry) New(name string, s config.Settings, stderr io.Writer) (Backend, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, &Error{Kind: ErrInvalid, Op: "backend", Msg: fmt.Sprintf("unknown backend %q (known: %s)", name, strings.Join(r.Names(), ", "))}
	}
	return f(s, stderr)
}
