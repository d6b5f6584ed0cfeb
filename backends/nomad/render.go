package nomad

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"

	"github.com/hashicorp/nomad/api"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// Render returns the job as {"Job": {...}}: the body of Nomad's register
// API (PUT /v1/jobs) and what `nomad job run -json` and `nomad job run
// -output` use, so the printed JSON can be run by hand.
func (b *backend) Render(job *jobspec.Job) (*backends.Rendering, error) {
	nj, fid, err := b.translate(job, jobID(job), "render")
	if err != nil {
		return nil, err
	}
	return &backends.Rendering{Native: Rendered{Job: nj}, Fidelity: fid}, nil
}

// Rendered is the native object: a Nomad job in its register envelope.
type Rendered struct {
	Job *api.Job
}

// MarshalJSON leaves out what the job does not set: the api types marshal
// every unset pointer as null, and a screenful of nulls hides the job.
func (r Rendered) MarshalJSON() ([]byte, error) {
	raw, err := json.Marshal(struct{ Job *api.Job }{r.Job})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := prune(dec, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// prune copies one JSON value from dec to w, in order, dropping object
// members whose value is null, "", [] or {}; it reports whether the value
// written was one of those.
func prune(dec *json.Decoder, w *bytes.Buffer) (empty bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch v := tok.(type) {
	case json.Delim:
		open, close := byte(v), byte(']')
		if v == '{' {
			close = '}'
		}
		w.WriteByte(open)
		n := 0
		for dec.More() {
			var key []byte
			if open == '{' {
				k, err := dec.Token()
				if err != nil {
					return false, err
				}
				key, _ = json.Marshal(k)
			}
			var elem bytes.Buffer
			e, err := prune(dec, &elem)
			if err != nil {
				return false, err
			}
			if e && open == '{' {
				continue
			}
			if n > 0 {
				w.WriteByte(',')
			}
			if key != nil {
				w.Write(key)
				w.WriteByte(':')
			}
			w.Write(elem.Bytes())
			n++
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return false, err
		}
		w.WriteByte(close)
		return n == 0, nil
	case nil:
		w.WriteString("null")
		return true, nil
	case string:
		b, _ := json.Marshal(v)
		w.Write(b)
		return v == "", nil
	case json.Number:
		w.WriteString(v.String())
	case bool:
		b, _ := json.Marshal(v)
		w.Write(b)
	}
	return false, nil
}

// jobID is the Nomad job ID: the name, or generateName plus 5 random
// characters from Kubernetes' alphabet (no vowels, no look-alikes).
func jobID(job *jobspec.Job) string {
	if job.Name != "" {
		return job.Name
	}
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte(job.GenerateName)
	for range 5 {
		b = append(b, alphabet[rand.IntN(len(alphabet))])
	}
	return string(b)
}
