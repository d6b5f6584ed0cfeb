package backends

import (
	"errors"
	"fmt"
)

// Error kinds. Backends wrap them (fmt.Errorf("...: %w", ErrNotFound) or
// &Error{Kind: ...}) and the CLI maps each to its exit code.
var (
	// ErrNotFound: no such job.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a job of that name exists in that namespace.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: the job cannot run on this backend, or the platform
	// rejected it; the message says which field and why.
	ErrInvalid = errors.New("invalid job")
	// ErrUnavailable: the platform could not be reached, refused our
	// credentials, or failed the request.
	ErrUnavailable = errors.New("backend unavailable")
)

// Error is a classified backend error with the context a user needs: which
// operation, on what, and the platform's own words.
type Error struct {
	Kind error  // one of the Err* kinds above
	Op   string // "submit", "status", ...
	Ref  Ref    // the job concerned, if any
	Msg  string // what happened, in the platform's words
	Err  error  // the underlying cause, if any
}

func (e *Error) Error() string {
	what := e.Op
	if e.Ref.Name != "" {
		what += " " + e.Ref.String()
	}
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.Kind.Error()
	}
	return fmt.Sprintf("%s: %s", what, msg)
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *Error) Is(target error) bool { return target == e.Kind }

func (e *Error) Unwrap() error { return e.Err }

// String renders the ref as namespace/name, or name alone without namespace.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}
