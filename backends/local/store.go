package local

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/batchctl/batchctl/backends"
)

// Layout of state.db:
//
//	jobs      "<namespace>\x00<name>" -> jobRecord (JSON); the NUL makes byte
//	          order the (namespace, name) order List reports.
//	attempts  <uid> (sub-bucket) -> uint32 big-endian seq -> attemptRecord (JSON)
//	expiry    uint64 big-endian unix nanos + <uid> -> jobs key; finished jobs
//	          with a TTL, oldest first, so the sweep reads only what expired.
//
// Logs live in StateDir/logs/<uid>/, supervisor liveness locks in
// StateDir/locks/<uid>.lock.
var (
	jobsBucket     = []byte("jobs")
	attemptsBucket = []byte("attempts")
	expiryBucket   = []byte("expiry")
)

// dbTimeout bounds how long a command waits for another one's transaction.
const dbTimeout = 10 * time.Second

// jobRecord is one job: what to run (Plan) and what the supervisor reported.
type jobRecord struct {
	UID       string            `json:"uid"`
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	Plan      *Plan             `json:"plan"`
	Created   time.Time         `json:"created"`
	// Deleting is set by Delete; a supervisor that sees it stops and exits.
	Deleting bool     `json:"deleting,omitempty"`
	State    jobState `json:"state"`
}

// jobState is the part of the record the supervisor owns and rewrites.
type jobState struct {
	// Generation grows with every write, so watchers notice any change.
	Generation uint64         `json:"generation"`
	Phase      backends.Phase `json:"phase"`
	Active     int32          `json:"active"`
	Succeeded  int32          `json:"succeeded"`
	Failed     int32          `json:"failed"`
	StartTime  *time.Time     `json:"startTime,omitempty"`
	// FinishTime is when the job finished, Succeeded or Failed: the
	// status's completionTime, and the start of its TTL.
	FinishTime *time.Time `json:"finishTime,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Message    string     `json:"message,omitempty"`
	// Procs are the container processes running at the last write, for
	// stopping survivors of a dead supervisor.
	Procs []procRef `json:"procs,omitempty"`
}

type procRef struct {
	Pod   string `json:"pod"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"` // platform start time, 0 when unknown
}

// attemptRecord is one run of one pod; Containers lists the containers
// started in it, which name its log files.
type attemptRecord struct {
	Pod        string     `json:"pod"`
	Index      *int32     `json:"index,omitempty"`
	Attempt    int32      `json:"attempt"`
	Phase      string     `json:"phase"`
	ExitCode   *int32     `json:"exitCode,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	StartTime  *time.Time `json:"startTime,omitempty"`
	FinishTime *time.Time `json:"finishTime,omitempty"`
	Containers []string   `json:"containers,omitempty"`

	seq uint32 // its key, filled on read
}

func (a *attemptRecord) active() bool { return a.Phase == "Pending" || a.Phase == "Running" }

// store is the state directory. Every operation opens the database, runs one
// transaction and closes it: bbolt holds a file lock while open, and other
// processes must get their turn.
type store struct {
	dir string
}

func (s *store) dbPath() string                  { return filepath.Join(s.dir, "state.db") }
func (s *store) logDir(uid string) string        { return filepath.Join(s.dir, "logs", uid) }
func (s *store) lockPath(uid string) string      { return filepath.Join(s.dir, "locks", uid+".lock") }
func (s *store) guardPath() string               { return filepath.Join(s.dir, "state.lock") }
func jobKey(namespace, name string) []byte       { return []byte(namespace + "\x00" + name) }
func seqKey(seq uint32) []byte                   { return binary.BigEndian.AppendUint32(nil, seq) }
func (s *store) logFile(uid, name string) string { return filepath.Join(s.logDir(uid), name) }

// init creates the directories, private to the user.
func (s *store) init() error {
	for _, d := range []string{s.dir, filepath.Join(s.dir, "logs"), filepath.Join(s.dir, "locks")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// open takes the guard lock (fine-grained waiting) and opens bbolt. The
// caller must call the returned close.
func (s *store) open(write bool) (*bolt.DB, func(), error) {
	if _, err := os.Stat(s.dbPath()); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, nil, unavailable(err)
		}
		if err := s.init(); err != nil {
			return nil, nil, err
		}
		write = true // the first open creates the file and buckets
	}
	g, err := os.OpenFile(s.guardPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, unavailable(err)
	}
	ok, err := lockWithTimeout(g, write, dbTimeout)
	if err != nil || !ok {
		g.Close()
		if err == nil {
			err = fmt.Errorf("state database %s is busy", s.dbPath())
		}
		return nil, nil, unavailable(err)
	}
	db, err := bolt.Open(s.dbPath(), 0o600, &bolt.Options{Timeout: dbTimeout, ReadOnly: !write})
	if err != nil {
		g.Close()
		return nil, nil, unavailable(err)
	}
	return db, func() { db.Close(); g.Close() }, nil
}

func (s *store) view(fn func(tx *bolt.Tx) error) error {
	db, closeFn, err := s.open(false)
	if err != nil {
		return err
	}
	defer closeFn()
	return db.View(fn)
}

// update runs fn in a read-write transaction; bbolt fsyncs on commit.
func (s *store) update(fn func(tx *bolt.Tx) error) error {
	db, closeFn, err := s.open(true)
	if err != nil {
		return err
	}
	defer closeFn()
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{jobsBucket, attemptsBucket, expiryBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

func getJob(tx *bolt.Tx, namespace, name string) (*jobRecord, error) {
	b := tx.Bucket(jobsBucket)
	if b == nil {
		return nil, nil
	}
	v := b.Get(jobKey(namespace, name))
	if v == nil {
		return nil, nil
	}
	rec := new(jobRecord)
	if err := json.Unmarshal(v, rec); err != nil {
		return nil, fmt.Errorf("job %s/%s: corrupt record: %w", namespace, name, err)
	}
	return rec, nil
}

func putJob(tx *bolt.Tx, rec *jobRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Bucket(jobsBucket).Put(jobKey(rec.Namespace, rec.Name), v)
}

func getAttempts(tx *bolt.Tx, uid string) ([]*attemptRecord, error) {
	b := tx.Bucket(attemptsBucket)
	if b == nil {
		return nil, nil
	}
	if b = b.Bucket([]byte(uid)); b == nil {
		return nil, nil
	}
	var out []*attemptRecord
	err := b.ForEach(func(k, v []byte) error {
		a := &attemptRecord{seq: binary.BigEndian.Uint32(k)}
		if err := json.Unmarshal(v, a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// putAttempts writes the given attempts (by seq) of job uid.
func putAttempts(tx *bolt.Tx, uid string, attempts map[uint32]*attemptRecord) error {
	if len(attempts) == 0 {
		return nil
	}
	b, err := tx.Bucket(attemptsBucket).CreateBucketIfNotExists([]byte(uid))
	if err != nil {
		return err
	}
	for seq, a := range attempts {
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), v); err != nil {
			return err
		}
	}
	return nil
}

// addExpiry schedules a finished job for TTL deletion.
func addExpiry(tx *bolt.Tx, rec *jobRecord) error {
	ttl := rec.Plan.TTLSecondsAfterFinished
	if ttl == nil || rec.State.FinishTime == nil {
		return nil
	}
	at := rec.State.FinishTime.Add(time.Duration(*ttl) * time.Second)
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return tx.Bucket(expiryBucket).Put(append(k, rec.UID...), jobKey(rec.Namespace, rec.Name))
}

// due lists the expiry entries (key, jobs key) that passed by now, skipping
// jobs a reader of this process holds; with first, only the first one.
func (s *store) due(tx *bolt.Tx, now time.Time, first bool) (due [][2][]byte) {
	b := tx.Bucket(expiryBucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil && int64(binary.BigEndian.Uint64(k[:8])) <= now.UnixNano(); k, v = c.Next() {
		if s.held(v) {
			continue
		}
		due = append(due, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
		if first {
			break
		}
	}
	return due
}

// sweep deletes every job whose TTL has passed, but those held, and returns
// their records; the caller removes their files once the transaction
// committed.
func (s *store) sweep(tx *bolt.Tx, now time.Time) ([]*jobRecord, error) {
	var gone []*jobRecord
	for _, e := range s.due(tx, now, false) {
		if err := tx.Bucket(expiryBucket).Delete(e[0]); err != nil {
			return nil, err
		}
		ns, name, _ := cutKey(e[1])
		rec, err := getJob(tx, ns, name)
		if err != nil || rec == nil || rec.UID != string(e[0][8:]) {
			continue // replaced or already deleted
		}
		if err := deleteJob(tx, rec); err != nil {
			return nil, err
		}
		gone = append(gone, rec)
	}
	return gone, nil
}

func cutKey(k []byte) (ns, name string, ok bool) {
	for i, c := range k {
		if c == 0 {
			return string(k[:i]), string(k[i+1:]), true
		}
	}
	return "", string(k), false
}

// deleteJob removes the record and its attempts (not its expiry entry: a
// stale one is skipped by sweep since the uid no longer matches).
func deleteJob(tx *bolt.Tx, rec *jobRecord) error {
	if err := tx.Bucket(jobsBucket).Delete(jobKey(rec.Namespace, rec.Name)); err != nil {
		return err
	}
	if tx.Bucket(attemptsBucket).Bucket([]byte(rec.UID)) != nil {
		return tx.Bucket(attemptsBucket).DeleteBucket([]byte(rec.UID))
	}
	return nil
}

// removeFiles deletes a deleted job's logs and lock file.
func (s *store) removeFiles(uid string) {
	_ = os.RemoveAll(s.logDir(uid))
	_ = os.Remove(s.lockPath(uid))
}

func unavailable(err error) error {
	return &backends.Error{Kind: backends.ErrUnavailable, Op: "state", Msg: "local state: " + err.Error(), Err: err}
}
