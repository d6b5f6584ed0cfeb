package backends

import (
	"reflect"
	"testing"
)

func TestIndexesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in   []int32
		want string
	}{
		{nil, ""},
		{[]int32{0}, "0"},
		{[]int32{0, 1}, "0,1"}, // a pair is not a range, as Kubernetes writes it
		{[]int32{5, 1, 3, 4, 3, 7, 8}, "1,3-5,7,8"},
		{[]int32{0, 1, 2, 9}, "0-2,9"},
	} {
		got := FormatIndexes(c.in)
		if got != c.want {
			t.Errorf("FormatIndexes(%v) = %q, want %q", c.in, got, c.want)
		}
		back, err := ParseIndexes(got, 0)
		if err != nil || FormatIndexes(back) != c.want {
			t.Errorf("ParseIndexes(%q) = %v, %v", got, back, err)
		}
	}
	if got, _ := ParseIndexes(" 2, 0-1 ", 3); !reflect.DeepEqual(got, []int32{0, 1, 2}) {
		t.Errorf("ParseIndexes with spaces = %v", got)
	}
	for _, bad := range []string{"a", "1-", "3-1", "-1", "1,,2", "9"} {
		if _, err := ParseIndexes(bad, 5); err == nil {
			t.Errorf("ParseIndexes(%q) accepted", bad)
		}
	}
}

func TestPlacementOnly(t *testing.T) {
	for path, want := range map[string]bool{
		"spec.template.spec.nodeSelector":                        true,
		"spec.template.spec.tolerations[2].key":                  true,
		"spec.template.spec.containers[3].ports":                 true,
		"spec.template.spec.containers[0].resources.limits.cpu":  true,
		"spec.template.spec.containers[0].resources.limits":      false,
		"spec.template.spec.containers[0].livenessProbe":         false,
		"spec.template.spec.volumes":                             false,
		"spec.template.spec.nodeSelectorX":                       false,
		"spec.template.spec.containers[0].securityContext.runAs": false,
	} {
		if got := PlacementOnly(path); got != want {
			t.Errorf("PlacementOnly(%s) = %v, want %v", path, got, want)
		}
	}
}
