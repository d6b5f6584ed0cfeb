package jobspec

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Limits on hostile input. MaxManifestBytes (api.go) bounds the file; these
// bound what it decodes to. The schema walk enforces them as it turns the YAML
// tree into JSON: it is the only place aliases are expanded (yaml.v3 keeps
// them as pointers), and it runs before anything the size of the expansion
// exists (json.Marshal, the typed decode, a backend's copy).
const (
	// MaxDecodedBytes bounds the bytes of every key and value once aliases
	// are expanded. A big real Job is tens of KB. Twice MaxManifestBytes, so
	// no alias-free manifest within the file cap reaches it (escapes such as
	// "\L" grow text 1.5× at most), and above the 3 MiB request body the
	// Kubernetes API server accepts, so every Job a cluster could take passes.
	MaxDecodedBytes = 2 * MaxManifestBytes

	// MaxDecodedNodes bounds the keys, values and list items once aliases are
	// expanded. A big real Job has a few thousand. A node can cost ~1.7 KB
	// once decoded (an empty container is a 408-byte corev1.Container plus
	// its position and model copy), so this keeps any decode under ~200 MB and
	// a second.
	MaxDecodedNodes = 100_000

	maxDepth  = 64 // a real Job nests about 15 levels deep
	maxErrors = 100
)

// budget is what the walk has decoded so far, aliases expanded.
type budget struct {
	nodes, size int // size: bytes of keys and values
	// via is the outermost alias being expanded, used at viaPath: a limit
	// error points at the reference the user wrote, not inside its anchor.
	via     *yaml.Node
	viaPath string
}

// spend counts node n with size bytes of key or value; once over a limit it
// stops the walk with an error and returns false.
func (w *walker) spend(n *yaml.Node, path string, size int) bool {
	w.nodes++
	w.size += size
	var what string
	switch {
	case w.nodes > MaxDecodedNodes:
		what = fmt.Sprintf("%d nodes", MaxDecodedNodes)
	case w.size > MaxDecodedBytes:
		what = fmt.Sprintf("%d bytes of keys and values", MaxDecodedBytes)
	default:
		return true
	}
	if w.via != nil {
		w.fatal(w.via, w.viaPath, "YAML aliases expand the manifest to more than "+what+" (the limit); refusing the manifest")
	} else {
		w.fatal(n, path, "manifest has more than "+what+" (the limit); refusing the manifest")
	}
	return false
}

// expanding records that alias a, used at path, is being expanded, unless an
// outer alias already is; call the returned func when done.
func (w *walker) expanding(a *yaml.Node, path string) func() {
	if w.via != nil {
		return func() {}
	}
	w.via, w.viaPath = a, path
	return func() { w.via, w.viaPath = nil, "" }
}

// text is the length of a scalar's value, what it adds to the decoded bytes.
func text(n *yaml.Node) int {
	if n.Kind == yaml.ScalarNode {
		return len(n.Value)
	}
	return 0
}
