package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/batchctl/batchctl/backends"
)

// Layout of the state directory (local.state-dir). Every job has a directory
// of its own and no file is shared between jobs, so no job's reader or
// writer ever waits for another's, and a fault in one job's files (a full
// disk, an immutable or corrupt file) stays with that job — the layout runc
// and containerd keep for the same reasons:
//
//	jobs/<uid>/job.json        what was submitted; never changes
//	jobs/<uid>/state.json      the supervisor's latest status, replaced atomically
//	jobs/<uid>/outcome         preallocated; the final outcome, written in place
//	jobs/<uid>/attempts.jsonl  attempts, appended as they change (the last line of a pod run wins)
//	jobs/<uid>/events.jsonl    events, appended
//	jobs/<uid>/lock            flock: the supervisor's, exclusive, for its whole life
//	jobs/<uid>/readers         flock: shared by readers, so a TTL sweep passes the job by
//	jobs/<uid>/supervisor      "pid starttime" of the supervisor
//	jobs/<uid>/suspend         present while the job is to be suspended
//	jobs/<uid>/deleting        present once Delete asked the job to go
//	jobs/<uid>/logs/           container logs and supervisor.log
//	names/<namespace>/<name>   the uid of the job of that name, made by link(2): one name, one job
//	expiry/<unix nanos>-<uid>  finished jobs with a TTL, oldest first
//	trash/<uid>                jobs being removed
//
// Files are opened without following symbolic links (a link planted in the
// state directory never receives a job's output), created 0600 in 0700
// directories.
type store struct {
	dir string
}

const (
	jobFile      = "job.json"
	stateFile    = "state.json"
	outcomeFile  = "outcome"
	attemptsFile = "attempts.jsonl"
	eventsFile   = "events.jsonl"
	lockFile     = "lock"
	readersFile  = "readers"
	pidFile      = "supervisor"
	suspendFile  = "suspend"
	deletingFile = "deleting"
)

func (s *store) jobDir(uid string) string         { return filepath.Join(s.dir, "jobs", uid) }
func (s *store) file(uid, name string) string     { return filepath.Join(s.jobDir(uid), name) }
func (s *store) logDir(uid string) string         { return filepath.Join(s.jobDir(uid), "logs") }
func (s *store) logFile(uid, name string) string  { return filepath.Join(s.logDir(uid), name) }
func (s *store) lockPath(uid string) string       { return s.file(uid, lockFile) }
func (s *store) claimDir(namespace string) string { return filepath.Join(s.dir, "names", namespace) }
func (s *store) claimPath(namespace, name string) string {
	return filepath.Join(s.claimDir(namespace), name)
}

// init creates the top directories, private to the user.
func (s *store) init() error {
	for _, d := range []string{"", "jobs", "names", "expiry", "trash"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// maxRecord bounds what is read of a record: job.json holds a manifest the
// reader already capped at a few MiB.
const maxRecord = 16 << 20

// readFile reads a file of the state directory, not following a link.
func readFile(path string) ([]byte, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err == nil && len(b) > maxRecord {
		err = fmt.Errorf("%s: larger than %d bytes", path, maxRecord)
	}
	return b, err
}

// writeAtomic replaces path with data: readers see the old file or the new
// one, never a part. durable also makes the data and the rename survive a
// crash (fsync of the file and of its directory).
func writeAtomic(path string, data []byte, durable bool) error {
	tmp := path + ".tmp-" + randSuffix()
	f, err := openNoFollow(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if durable {
		syncDir(filepath.Dir(path))
	}
	return nil
}

// appendFile appends data to path, creating it.
func appendFile(path string, data []byte) error {
	f, err := openNoFollow(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere (Windows)
		d.Close()
	}
}

// claim makes name in namespace the job uid's, atomically: the claim file is
// written whole under a temporary name, then hard-linked into place, which
// fails if the name is taken. A claim whose job directory is gone was left
// by an interrupted Delete and is taken over.
func (s *store) claim(namespace, name, uid string) error {
	dir := s.claimDir(namespace)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return unavailable(err)
	}
	tmp := filepath.Join(dir, ".claim-"+uid)
	if err := writeAtomic(tmp, []byte(uid+"\n"), true); err != nil {
		return unavailable(err)
	}
	defer os.Remove(tmp)
	for try := 0; ; try++ {
		err := os.Link(tmp, s.claimPath(namespace, name))
		if err == nil {
			syncDir(dir)
			return nil
		}
		if !errors.Is(err, fs.ErrExist) || try > 0 {
			if errors.Is(err, fs.ErrExist) {
				return exists(namespace, name)
			}
			return unavailable(err)
		}
		old, lerr := s.lookup(namespace, name)
		if lerr != nil || old == "" {
			return exists(namespace, name)
		}
		if _, serr := os.Lstat(s.jobDir(old)); !errors.Is(serr, fs.ErrNotExist) {
			return exists(namespace, name)
		}
		s.unclaim(namespace, name, old) // stale: its job is gone
	}
}

func exists(namespace, name string) error {
	return &backends.Error{Kind: backends.ErrAlreadyExists, Op: "submit", Ref: backends.Ref{Name: name, Namespace: namespace},
		Msg: fmt.Sprintf("job %q already exists in namespace %q", name, namespace)}
}

// lookup returns the uid claiming name, "" when none.
func (s *store) lookup(namespace, name string) (string, error) {
	if !validName(namespace) || !validName(name) {
		return "", nil // no file name outside the state directory is ever read
	}
	b, err := readFile(s.claimPath(namespace, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", corrupt(s.claimPath(namespace, name), err)
	}
	uid := strings.TrimSpace(string(b))
	if !validName(uid) {
		return "", corrupt(s.claimPath(namespace, name), errors.New("not a job uid"))
	}
	return uid, nil
}

// unclaim frees name if uid still holds it.
func (s *store) unclaim(namespace, name, uid string) {
	if cur, err := s.lookup(namespace, name); err == nil && cur == uid {
		_ = os.Remove(s.claimPath(namespace, name))
	}
}

// claimRef is one claimed name.
type claimRef struct{ namespace, name string }

// claims lists the claimed names of namespace ("" for every namespace),
// sorted by namespace then name.
func (s *store) claims(namespace string) ([]claimRef, error) {
	var namespaces []string
	if namespace != "" {
		namespaces = []string{namespace}
	} else {
		ents, err := os.ReadDir(filepath.Join(s.dir, "names"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, unavailable(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				namespaces = append(namespaces, e.Name())
			}
		}
	}
	var out []claimRef
	for _, ns := range namespaces {
		ents, err := os.ReadDir(s.claimDir(ns))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, unavailable(err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, claimRef{ns, e.Name()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].namespace != out[j].namespace {
			return out[i].namespace < out[j].namespace
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// removeJob deletes job uid's directory: renamed into trash first, so that a
// reader sees the whole job or nothing.
func (s *store) removeJob(uid string) {
	trash := filepath.Join(s.dir, "trash", uid)
	if err := os.Rename(s.jobDir(uid), trash); err != nil {
		_ = os.RemoveAll(s.jobDir(uid))
		return
	}
	_ = os.RemoveAll(trash)
}

// validName: what may name a file in the state directory. Kubernetes names
// and namespaces (DNS labels and subdomains) and uids all qualify.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return s[0] != '.'
}

func unavailable(err error) error {
	return &backends.Error{Kind: backends.ErrUnavailable, Op: "state", Msg: "local state: " + err.Error(), Err: err}
}

// corrupt reports a state file that cannot be read as what it should be,
// with the way out.
func corrupt(path string, err error) error {
	return &backends.Error{Kind: backends.ErrUnavailable, Op: "state",
		Msg: fmt.Sprintf("local state file %s is unreadable (%v); `batchctl doctor` reports every such file and `batchctl doctor --repair` moves them aside", path, err),
		Err: err}
}

// trimNUL drops the zero padding of a preallocated file.
func trimNUL(b []byte) []byte { return bytes.TrimRight(b, "\x00") }
