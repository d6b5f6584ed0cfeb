package backends

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A job keeps the manifest it was submitted with, so that a later submit
// can tell whether it is the same job (submit --if-exists attach) and say
// which fields differ, and `retry` can build the retry from it. Like
// kubectl's last-applied-configuration, it travels as an annotation, which
// every backend carries: the manifest without these annotations, as
// gzip'd JSON in base64, and its hash.
const (
	SubmittedAnnotation = "batchctl.dev/last-submitted"
	SpecHashAnnotation  = "batchctl.dev/spec-hash"
)

// Manifester is implemented by backends that can return the manifest a
// job was submitted with (the SubmittedAnnotation, or their own record).
// It is nil, without error, for a job submitted without it (by another
// tool); ErrNotFound when there is no such job.
type Manifester interface {
	Manifest(ctx context.Context, ref Ref) (*batchv1.Job, error)
}

// StampSubmitted sets the two annotations on obj, computed from obj
// without them.
func StampSubmitted(obj *batchv1.Job) error {
	clean := Unstamped(obj)
	b, err := json.Marshal(clean)
	if err != nil {
		return err
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(b)
	_ = w.Close()
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations[SubmittedAnnotation] = base64.StdEncoding.EncodeToString(z.Bytes())
	obj.Annotations[SpecHashAnnotation] = SpecHash(clean)
	return nil
}

// Unstamped is a copy of obj without the two annotations, and without
// what a platform adds (status, uid, resource version, …): what the user
// submitted.
func Unstamped(obj *batchv1.Job) *batchv1.Job {
	c := obj.DeepCopy()
	c.Status = batchv1.JobStatus{}
	c.UID, c.ResourceVersion, c.Generation, c.CreationTimestamp, c.ManagedFields = "", "", 0, metav1.Time{}, nil
	if c.Annotations != nil {
		c.Annotations = maps.Clone(c.Annotations)
		delete(c.Annotations, SubmittedAnnotation)
		delete(c.Annotations, SpecHashAnnotation)
		if len(c.Annotations) == 0 {
			c.Annotations = nil
		}
	}
	return c
}

// SpecHash is a stable hash of a manifest (encoding/json sorts map keys).
func SpecHash(obj *batchv1.Job) string {
	b, _ := json.Marshal(obj)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// DecodeSubmitted reads the SubmittedAnnotation back; nil when absent.
func DecodeSubmitted(annotations map[string]string) (*batchv1.Job, error) {
	v, ok := annotations[SubmittedAnnotation]
	if !ok {
		return nil, nil
	}
	z, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", SubmittedAnnotation, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", SubmittedAnnotation, err)
	}
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", SubmittedAnnotation, err)
	}
	obj := new(batchv1.Job)
	if err := json.Unmarshal(b, obj); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", SubmittedAnnotation, err)
	}
	return obj, nil
}

// ManifestDiff lists the fields where two manifests differ, as dotted
// paths with both values ("spec.completions: 3 → 4"), sorted.
func ManifestDiff(old, new *batchv1.Job) []string {
	var a, b any
	ja, _ := json.Marshal(Unstamped(old))
	jb, _ := json.Marshal(Unstamped(new))
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	var out []string
	diffTree("", a, b, &out)
	sort.Strings(out)
	return out
}

func diffTree(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := slices.Collect(maps.Keys(am))
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffTree(p, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diffTree(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		*out = append(*out, fmt.Sprintf("%s: %s → %s", path, short(ja), short(jb)))
	}
}

func short(b []byte) string {
	s := string(b)
	if s == "null" {
		return "(unset)"
	}
	if len(s) > 60 {
		s = s[:57] + "…"
	}
	return strings.ReplaceAll(s, "\n", " ")
}
