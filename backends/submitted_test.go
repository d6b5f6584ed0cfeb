package backends

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
)

func TestSubmittedRoundTrip(t *testing.T) {
	c3, c4 := int32(3), int32(4)
	obj := &batchv1.Job{}
	obj.Name, obj.Annotations = "j", map[string]string{"mine": "kept"}
	obj.Spec.Completions = &c3
	if err := StampSubmitted(obj); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeSubmitted(obj.Annotations)
	if err != nil || back == nil || back.Name != "j" || *back.Spec.Completions != 3 || back.Annotations["mine"] != "kept" {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	if _, has := back.Annotations[SubmittedAnnotation]; has {
		t.Error("the stored manifest holds itself")
	}
	if SpecHash(back) != obj.Annotations[SpecHashAnnotation] {
		t.Error("the hash of the stored manifest differs from the stamped one")
	}
	changed := back.DeepCopy()
	changed.Spec.Completions = &c4
	if SpecHash(changed) == SpecHash(back) {
		t.Error("a changed spec hashes the same")
	}
	d := ManifestDiff(back, changed)
	if len(d) != 1 || d[0] != "spec.completions: 3 → 4" {
		t.Errorf("diff %q", d)
	}
	if d := ManifestDiff(obj, back); len(d) != 0 {
		t.Errorf("stamped and stored differ: %q", strings.Join(d, "; "))
	}
	if got, err := DecodeSubmitted(nil); got != nil || err != nil {
		t.Errorf("no annotation: %v %v", got, err)
	}
}
