package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Exit codes. They are part of batchctl's interface: scripts branch on them,
// so numbers are never reused or reordered. README.md and `--help` list them.
const (
	exitOK            = 0   // success; the job succeeded
	exitJobFailed     = 1   // the job failed
	exitUsage         = 2   // bad command line or invalid job spec
	exitBackend       = 3   // backend unreachable, unauthorized, or API error
	exitNotFound      = 4   // no such job
	exitTimeout       = 5   // timed out waiting; the job is still active
	exitAlreadyExists = 6   // a job of that name exists
	exitInterrupted   = 130 // interrupted; the job is left running
)

const exitCodesHelp = `EXIT CODES:
   0    success; the job succeeded
   1    the job failed
   2    usage error or invalid job spec
   3    backend error (unreachable, unauthorized, API error)
   4    job not found
   5    timed out waiting (the job is still active)
   6    job already exists
   130  interrupted (the job is left running)`

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// jobFailedError: the job ended Failed: exit 1.
type jobFailedError struct{ st *backends.Status }

func (e jobFailedError) Error() string {
	msg := fmt.Sprintf("job %s failed", e.st.Name)
	if e.st.Reason != "" {
		msg += ": " + e.st.Reason
	}
	if e.st.Message != "" {
		msg += ": " + e.st.Message
	}
	return msg
}

// jobsFailedError: of many jobs waited for, some failed: exit 1.
type jobsFailedError struct{ failed, total int }

func (e jobsFailedError) Error() string {
	return fmt.Sprintf("%d of %d jobs failed", e.failed, e.total)
}

// timeoutError: --timeout passed with the job still active: exit 5.
type timeoutError struct{ msg string }

func (e timeoutError) Error() string { return e.msg }

// interruptedError: SIGINT/SIGTERM while waiting: exit 130.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

// exitCode classifies any error a command returns.
func exitCode(err error) int {
	var (
		list jobspec.ErrorList
		fe   *jobspec.FieldError
		ue   usageError
		jf   jobFailedError
		jsf  jobsFailedError
		te   timeoutError
		ie   interruptedError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &jf), errors.As(err, &jsf):
		return exitJobFailed
	case errors.As(err, &list), errors.As(err, &fe), errors.As(err, &ue), errors.Is(err, backends.ErrInvalid):
		return exitUsage
	case errors.As(err, &te):
		return exitTimeout
	case errors.As(err, &ie):
		return exitInterrupted
	case errors.Is(err, backends.ErrNotFound):
		return exitNotFound
	case errors.Is(err, backends.ErrAlreadyExists):
		return exitAlreadyExists
	default:
		return exitBackend
	}
}

// message formats err for stderr, prefixed with the command the user ran
// ("batchctl logs: default/nosuch: job not found"), whatever layer the
// error came from. Spec errors stay in compiler form, one per line, so
// editors and CI annotators can jump to them.
func message(cmd string, err error) string {
	var list jobspec.ErrorList
	if errors.As(err, &list) {
		return strings.TrimRight(list.Error(), "\n")
	}
	var fe *jobspec.FieldError
	if errors.As(err, &fe) {
		return fe.Error()
	}
	msg := err.Error()
	var be *backends.Error
	if errors.As(err, &be) && be == err {
		// The backend's own operation name is an implementation detail
		// (submit validates by rendering); the job it concerns is not.
		msg = be.Msg
		if msg == "" && be.Err != nil {
			msg = be.Err.Error()
		}
		if msg == "" {
			msg = be.Kind.Error()
		}
		if be.Ref.Name != "" {
			msg = be.Ref.String() + ": " + msg
		}
	}
	// A usage message may already start with the command's name, alone
	// ("logs: …") or before the flag it is about ("logs --index 9: …").
	name := cmd
	if i := strings.LastIndexByte(cmd, ' '); i >= 0 {
		name = cmd[i+1:]
	}
	for _, prefix := range []string{cmd, name} {
		msg = strings.TrimPrefix(msg, prefix+": ")
		if rest, ok := strings.CutPrefix(msg, prefix+" -"); ok {
			msg = "-" + rest
		}
	}
	return "batchctl " + cmd + ": " + msg
}

// action adapts a command to urfave/cli. This is the command boundary: the
// only place a cli.Exit is built, so urfave's type assertion sees it unwrapped.
func action(fn func(c *cli.Context) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		err := fn(c)
		if err == nil {
			return nil
		}
		return cli.Exit(message(commandPath(c), err), exitCode(err))
	}
}
