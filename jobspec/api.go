package jobspec

// This file states the package's entry points; parse.go, schema.go,
// validate.go and model.go implement them.

// MaxManifestBytes bounds what Parse reads: a Job is far smaller, and etcd,
// behind the Kubernetes API server, refuses objects over 1.5 MiB anyway.
// MaxDecodedBytes and MaxDecodedNodes (limits.go) bound what it decodes to.
const MaxManifestBytes = 2 << 20

// FieldError is one problem with a manifest, printed in compiler form:
// "job.yaml:7:16: spec.parallelism: must be greater than or equal to 0, got -1".
// Line and Col are 1-based; 0 when the problem has no place in the file
// (a command-line override, a missing document).
type FieldError struct {
	File  string
	Line  int
	Col   int
	Field string // dotted path with list indexes: spec.template.spec.containers[0].image
	Msg   string
}

// ErrorList holds every problem found, in document order; Parse reports all
// of them at once. Its Error is one FieldError per line.
type ErrorList []*FieldError

// Overrides are the command-line changes applied on top of a manifest.
type Overrides struct {
	Name      string   // replaces metadata.name and clears generateName
	Namespace string   // replaces metadata.namespace
	Env       []EnvVar // added to (or replacing same-named entries of) every container and init container
}
