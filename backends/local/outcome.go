package local

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// The outcome file is the job's last word, made so that it can be written
// when nothing else can: Submit preallocates it, and the supervisor writes
// the final outcome into it in place (no new block, no new directory entry,
// so a full disk or an immutable state.json or job directory does not stop
// it) and fsyncs, before it tries to replace state.json. Readers take it
// over a state.json that is not final.
//
// Layout: magic, payload length, CRC-32 of the payload, JSON payload, zero
// padding to outcomeSize. A torn or foreign write fails the checksum and is
// ignored.
const (
	outcomeSize  = 4096
	outcomeMagic = "batchctl-outcome-1\n"
	outcomeHead  = len(outcomeMagic) + 8
)

type outcome struct {
	Phase          backends.Phase `json:"phase"`
	Reason         string         `json:"reason,omitempty"`
	Message        string         `json:"message,omitempty"`
	Active         int32          `json:"active"`
	Succeeded      int32          `json:"succeeded"`
	Failed         int32          `json:"failed"`
	StartTime      *time.Time     `json:"startTime,omitempty"`
	CompletionTime *time.Time     `json:"completionTime,omitempty"`
	// Indexes are left out when they do not fit: state.json then has the
	// last ones written.
	CompletedIndexes *string `json:"completedIndexes,omitempty"`
	FailedIndexes    *string `json:"failedIndexes,omitempty"`
	// Expires is when a job with a TTL is to be deleted.
	Expires *time.Time `json:"expires,omitempty"`
}

func outcomeOf(st *backends.Status) outcome {
	return outcome{Phase: st.Phase, Reason: st.Reason, Message: st.Message, Active: st.Active, Succeeded: st.Succeeded,
		Failed: st.Failed, StartTime: st.StartTime, CompletionTime: st.CompletionTime,
		CompletedIndexes: &st.CompletedIndexes, FailedIndexes: &st.FailedIndexes}
}

// apply puts the outcome over a state that is not final.
func (o *outcome) apply(st *jobState) {
	s := &st.Status
	s.Phase, s.Reason, s.Message = o.Phase, o.Reason, o.Message
	s.Active, s.Succeeded, s.Failed = o.Active, o.Succeeded, o.Failed
	s.StartTime, s.CompletionTime, s.NextRetry = o.StartTime, o.CompletionTime, nil
	if o.CompletedIndexes != nil {
		s.CompletedIndexes = *o.CompletedIndexes
	}
	if o.FailedIndexes != nil {
		s.FailedIndexes = *o.FailedIndexes
	}
	st.Pods, st.Expires = nil, o.Expires
}

// encode fits the outcome in the file, dropping the indexes, then cutting
// the message, if it must.
func (o outcome) encode() []byte {
	for try := 0; ; try++ {
		payload, _ := json.Marshal(o)
		if outcomeHead+len(payload) <= outcomeSize {
			buf := make([]byte, outcomeSize)
			n := copy(buf, outcomeMagic)
			binary.BigEndian.PutUint32(buf[n:], uint32(len(payload)))
			binary.BigEndian.PutUint32(buf[n+4:], crc32.ChecksumIEEE(payload))
			copy(buf[outcomeHead:], payload)
			return buf
		}
		switch try {
		case 0:
			o.CompletedIndexes, o.FailedIndexes = nil, nil
		default:
			o.Message = o.Message[:len(o.Message)/2] + "…"
		}
	}
}

// preallocateOutcome reserves the outcome file's blocks at submit.
func (s *store) preallocateOutcome(uid string) error {
	f, err := openNoFollow(s.file(uid, outcomeFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, outcomeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOutcome writes the final outcome into the preallocated file, in
// place, and makes it durable.
func (s *store) writeOutcome(uid string, o outcome) error {
	f, err := openNoFollow(s.file(uid, outcomeFile), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(o.encode(), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readOutcome returns the final outcome, if one was written.
func (s *store) readOutcome(uid string) (*outcome, bool) {
	f, err := openNoFollow(s.file(uid, outcomeFile), os.O_RDONLY, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	buf := make([]byte, outcomeSize)
	n, _ := f.ReadAt(buf, 0)
	buf = buf[:n]
	if len(buf) < outcomeHead || string(buf[:len(outcomeMagic)]) != outcomeMagic {
		return nil, false
	}
	size := int(binary.BigEndian.Uint32(buf[len(outcomeMagic):]))
	sum := binary.BigEndian.Uint32(buf[len(outcomeMagic)+4:])
	if size > len(buf)-outcomeHead {
		return nil, false
	}
	payload := buf[outcomeHead : outcomeHead+size]
	if crc32.ChecksumIEEE(payload) != sum {
		return nil, false
	}
	o := new(outcome)
	if json.Unmarshal(payload, o) != nil || !o.Phase.Terminal() {
		return nil, false
	}
	return o, true
}
