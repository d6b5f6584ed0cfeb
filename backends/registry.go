package backends

import (
	"fmt"
	"io"
	"strings"

	"github.com/batchctl/batchctl/config"
)

// Registration is everything batchctl knows about a backend: adding one is
// its package plus one Register line in backends/all.
type Registration struct {
	// Name selects it: --backend NAME, `backend: NAME` in the config file.
	Name string
	// Usage says in a few words what it runs jobs on, for help texts.
	Usage string
	// Settings it reads. Keys start with Name + "." and variables with
	// BATCHCTL_; config layers, checks, shows and redacts them.
	Settings []config.Setting
	// New builds the backend from the effective settings (its own and the
	// core ones: "namespace"). Notes meant for the user (not errors) go to
	// stderr. It must not contact the platform: connection problems surface
	// on the first call, as ErrUnavailable.
	New func(v *config.View, stderr io.Writer) (Backend, error)
}

// Registry holds the backends by name, in registration order. It is filled
// explicitly, in one place (backends/all), rather than by init side effects.
type Registry struct {
	regs []Registration
}

// Register adds a backend. A duplicate name, or a setting outside the
// backend's own key and variable space, is a programming error.
func (r *Registry) Register(reg Registration) {
	if reg.Name == "" || reg.New == nil {
		panic("backends: a registration needs a Name and New")
	}
	if r.Lookup(reg.Name) != nil {
		panic("backends: duplicate registration of " + reg.Name)
	}
	envPrefix := "BATCHCTL_" + strings.ToUpper(strings.ReplaceAll(reg.Name, "-", "_")) + "_"
	for _, s := range reg.Settings {
		if !strings.HasPrefix(s.Key, reg.Name+".") || (s.Env != "" && !strings.HasPrefix(s.Env, envPrefix)) {
			panic(fmt.Sprintf("backends: %s declares setting %s (%s) outside %s.* / %s*", reg.Name, s.Key, s.Env, reg.Name, envPrefix))
		}
	}
	r.regs = append(r.regs, reg)
}

// Lookup returns the named backend's registration, or nil.
func (r *Registry) Lookup(name string) *Registration {
	for i := range r.regs {
		if r.regs[i].Name == name {
			return &r.regs[i]
		}
	}
	return nil
}

// Names lists the registered backends in registration order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.regs))
	for i, reg := range r.regs {
		names[i] = reg.Name
	}
	return names
}

// Core setting keys, read by the CLI and by every backend.
const (
	BackendKey          = "backend"
	NamespaceKey        = "namespace"
	AllowApproximateKey = "allow-approximate"
	QuietNotesKey       = "quiet-notes"
)

// Settings lists every setting: the core ones, then each backend's, in
// registration order. The first registered backend is the default.
func (r *Registry) Settings() []config.Setting {
	names := r.Names()
	def := ""
	if len(names) > 0 {
		def = names[0]
	}
	out := []config.Setting{
		{Key: BackendKey, Env: "BATCHCTL_BACKEND", Default: def, Type: config.Choice, Choices: names, Flag: "backend", Alias: "b",
			Help: "backend to run jobs on: " + strings.Join(names, ", ")},
		{Key: NamespaceKey, Env: "BATCHCTL_NAMESPACE", Flag: "namespace", Alias: "n",
			Help: "namespace; empty lets the backend choose"},
		{Key: AllowApproximateKey, Env: "BATCHCTL_ALLOW_APPROXIMATE", Default: "false", Type: config.Bool,
			Help: "run jobs even where a backend's approximation could change the outcome (flag --allow-approximate of submit)"},
		{Key: QuietNotesKey, Env: "BATCHCTL_QUIET_NOTES", Default: "false", Type: config.Bool,
			Help: "print no notes (what a backend does not use, such as an image on local exec); warnings still print"},
	}
	for _, reg := range r.regs {
		out = append(out, reg.Settings...)
	}
	return out
}

// New builds the backend the settings name.
func (r *Registry) New(v *config.View, stderr io.Writer) (Backend, error) {
	name := v.String(BackendKey)
	reg := r.Lookup(name)
	if reg == nil {
		return nil, &Error{Kind: ErrInvalid, Op: "backend", Msg: fmt.Sprintf("unknown backend %q (known: %s)", name, strings.Join(r.Names(), ", "))}
	}
	return reg.New(v, stderr)
}
