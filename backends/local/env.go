package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/batchctl/batchctl/jobspec"
)

// containerEnv is a container's environment and argv, worked out once: the
// environment batchctl ran in (but batchctl's own settings), then the
// manifest's env (later entries win), then JOB_COMPLETION_INDEX for Indexed
// jobs, as the Job controller adds it.
type containerEnv struct {
	env  []string
	pos  map[string]int    // position in env by name
	vars map[string]string // the manifest's env, for $(VAR) in argv
	argv []string
	path string
	err  error // argv[0] not found
	c    *ContainerPlan
}

const indexEnv = "JOB_COMPLETION_INDEX"

func (s *supervisor) containerEnv(c *ContainerPlan) *containerEnv {
	if ce := s.envs[c]; ce != nil {
		return ce
	}
	ce := &containerEnv{pos: map[string]int{}, vars: map[string]string{}, c: c}
	// The supervisor's environment was filtered when Submit started it.
	for _, kv := range inheritedEnv(os.Environ(), nil) {
		name, _, _ := strings.Cut(kv, "=")
		ce.set(name, kv)
	}
	for _, e := range c.Env {
		// Kubernetes expands references to the entries defined before.
		v := jobspec.ExpandRefs(e.Value, ce.lookup)
		ce.vars[e.Name] = v
		ce.set(e.Name, e.Name+"="+v)
	}
	ce.argv = ce.expandArgv(ce.lookup)
	ce.path, ce.err = lookPath(ce.argv[0], ce.getenv("PATH"))
	s.envs[c] = ce
	return ce
}

// inheritedEnv is env without batchctl's own variables (BATCHCTL_*, which
// may hold credentials such as BATCHCTL_NOMAD_TOKEN, and _BATCHCTL_*) and
// without hidden ones (credentials batchctl reads, such as NOMAD_TOKEN): the
// supervisor and the pods get the rest of the submitter's environment.
func inheritedEnv(env, hidden []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name) // Windows names ignore case
		if strings.HasPrefix(upper, "BATCHCTL_") || strings.HasPrefix(upper, "_BATCHCTL_") || slices.ContainsFunc(hidden, func(h string) bool { return strings.EqualFold(h, name) }) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func (ce *containerEnv) set(name, kv string) {
	if i, ok := ce.pos[name]; ok {
		ce.env[i] = kv
		return
	}
	ce.pos[name] = len(ce.env)
	ce.env = append(ce.env, kv)
}

func (ce *containerEnv) lookup(name string) (string, bool) {
	v, ok := ce.vars[name]
	return v, ok
}

func (ce *containerEnv) getenv(name string) string {
	if i, ok := ce.pos[name]; ok {
		_, v, _ := strings.Cut(ce.env[i], "=")
		return v
	}
	return ""
}

func (ce *containerEnv) expandArgv(lookup func(string) (string, bool)) []string {
	argv := make([]string, len(ce.c.Argv))
	for i, a := range ce.c.Argv {
		argv[i] = jobspec.ExpandRefs(a, lookup)
	}
	return argv
}

// resolve returns env, argv and executable for a pod with completion index
// index (-1: NonIndexed).
func (ce *containerEnv) resolve(index int32) (env, argv []string, path string, err error) {
	if index < 0 {
		return ce.env, ce.argv, ce.path, ce.err
	}
	idx := strconv.Itoa(int(index))
	if _, set := ce.vars[indexEnv]; set {
		return ce.env, ce.argv, ce.path, ce.err // the manifest's own value wins, as in Kubernetes
	}
	env = append(make([]string, 0, len(ce.env)+1), ce.env...)
	kv := indexEnv + "=" + idx
	if i, ok := ce.pos[indexEnv]; ok {
		env[i] = kv
	} else {
		env = append(env, kv)
	}
	argv = ce.expandArgv(func(name string) (string, bool) {
		if name == indexEnv {
			return idx, true
		}
		return ce.lookup(name)
	})
	path, err = ce.path, ce.err
	if argv[0] != ce.argv[0] {
		path, err = lookPath(argv[0], ce.getenv("PATH"))
	}
	return env, argv, path, err
}

// lookPath finds file in the container's PATH; a name with a slash is
// used as is (relative to the working directory, as exec does after chdir).
func lookPath(file, pathEnv string) (string, error) {
	if runtime.GOOS == "windows" {
		return exec.LookPath(file)
	}
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}
