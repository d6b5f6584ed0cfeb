package jobspec

// Fuzz targets for the manifest reader. Seed corpora are in
// testdata/fuzz/<target>/; run one target briefly with
//
//	go test ./jobspec -run '^$' -fuzz '^FuzzParse$' -fuzztime 10s
//
// or every target with jobspec/fuzz.sh.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: whatever the bytes, Parse returns a complete Job or errors that
// name the file at a place in it, and an accepted Job survives a round trip.
func FuzzParse(f *testing.F) {
	// The README's examples; the rest of the seeds are in testdata/fuzz/FuzzParse.
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse("fuzz.yaml", bytes.NewReader(data))
		checkResult(t, "fuzz.yaml", data, j, err)
		if j != nil {
			checkRoundTrip(t, j)
		}
	})
}

// slots are the fields FuzzField writes its fragment into: section picks
// where in fieldJob the key goes (see fieldJob).
var slots = []struct {
	section    int
	key, field string
}{
	{0, "fieldsV1", "metadata.managedFields[0].fieldsV1"},
	{1, "labels", "metadata.labels"},
	{1, "annotations", "metadata.annotations"},
	{2, "parallelism", "spec.parallelism"},
	{2, "activeDeadlineSeconds", "spec.activeDeadlineSeconds"},
	{2, "ttlSecondsAfterFinished", "spec.ttlSecondsAfterFinished"},
	{2, "backoffLimit", "spec.backoffLimit"},
	{2, "completionMode", "spec.completionMode"},
	{2, "podFailurePolicy", "spec.podFailurePolicy"},
	{2, "successPolicy", "spec.successPolicy"},
	{3, "activeDeadlineSeconds", "spec.template.spec.activeDeadlineSeconds"},
	{3, "terminationGracePeriodSeconds", "spec.template.spec.terminationGracePeriodSeconds"},
	{3, "tolerations", "spec.template.spec.tolerations"},
	{3, "initContainers", "spec.template.spec.initContainers"},
	{4, "command", "spec.template.spec.containers[0].command"},
	{4, "args", "spec.template.spec.containers[0].args"},
	{4, "env", "spec.template.spec.containers[0].env"},
	{4, "resources", "spec.template.spec.containers[0].resources"},
}

// fieldJob is a valid Job with fragment as the value of the slot's key, as a
// block indented under it; it returns the key's line too.
func fieldJob(slot int, fragment string) (string, int) {
	sections := []string{
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n  managedFields:\n    - manager: m\n",
		"  name: fuzz\n",
		"spec:\n",
		"  template:\n    spec:\n      restartPolicy: Never\n",
		"      containers:\n        - name: main\n          image: busybox\n",
	}
	indents := []int{6, 2, 2, 6, 10}
	s := slots[slot%len(slots)]
	var b strings.Builder
	line := 0
	for i, sec := range sections {
		b.WriteString(sec)
		if i != s.section {
			continue
		}
		line = strings.Count(b.String(), "\n") + 1
		pad := strings.Repeat(" ", indents[i])
		b.WriteString(pad + s.key + ":\n")
		for l := range strings.Lines(fragment) {
			b.WriteString(pad + "  " + strings.TrimSuffix(l, "\n") + "\n")
		}
	}
	return b.String(), line
}

// FuzzField writes a fragment of YAML into one field of a valid Job: the
// schema walk and validation must place every error about that field inside
// the fragment (or at its key), and an accepted Job must round-trip.
func FuzzField(f *testing.F) {
	f.Fuzz(func(t *testing.T, slot uint8, fragment string) {
		if strings.ContainsAny(fragment, "\r\u0085\u2028\u2029") {
			return // other line breaks for YAML: the fragment's lines would not be ours
		}
		src, keyLine := fieldJob(int(slot), fragment)
		field := slots[int(slot)%len(slots)].field
		j, err := Parse("fuzz.yaml", strings.NewReader(src))
		checkResult(t, "fuzz.yaml", []byte(src), j, err)
		if j != nil {
			checkRoundTrip(t, j)
			return
		}
		lastLine := keyLine + strings.Count(fragment, "\n")
		if fragment != "" && !strings.HasSuffix(fragment, "\n") {
			lastLine++
		}
		list, _ := AsErrorList(err)
		for _, e := range list {
			inside := e.Field == field || strings.HasPrefix(e.Field, field+".") || strings.HasPrefix(e.Field, field+"[")
			if inside && (e.Line < keyLine || e.Line > lastLine) {
				t.Fatalf("error about %s at line %d, outside the fragment (lines %d-%d):\n%s\n%s", field, e.Line, keyLine, lastLine, e, src)
			}
		}
	})
}

// FuzzExpansionLimits builds billion-laughs documents from its arguments and
// checks the decoded-size limits against sizeOracle: refused exactly when
// the oracle's expansion crosses a limit, at the alias it names, with the
// limit's message; accepted otherwise.
func FuzzExpansionLimits(f *testing.F) {
	f.Fuzz(func(t *testing.T, scalar string, repeat uint16, width, depth uint8, refs uint16, mapping bool) {
		src := laughsJob(scalar, int(repeat), int(width%17), int(depth%9), int(refs%1025), mapping)
		if len(src) > MaxManifestBytes {
			return
		}
		o := decodedSize(src)
		j, err := Parse("fuzz.yaml", strings.NewReader(src))
		checkResult(t, "fuzz.yaml", []byte(src), j, err)
		if o.hit == nil {
			if err != nil {
				t.Fatalf("refused within the limits (%d nodes, %d bytes): %.500v", o.nodes, o.bytes, err)
			}
			return
		}
		msg := map[string]string{"nodes": fmt.Sprintf("%d nodes", MaxDecodedNodes), "bytes": fmt.Sprintf("%d bytes of keys and values", MaxDecodedBytes)}[o.over]
		prefix := "manifest has more than "
		if src[lineStart(src, o.hit.Line)+o.hit.Column-1] == '*' {
			prefix = "YAML aliases expand the manifest to more than "
		}
		list, _ := AsErrorList(err)
		pos := fmt.Sprintf("fuzz.yaml:%d:%d: ", o.hit.Line, o.hit.Column)
		if len(list) != 1 || !strings.HasPrefix(err.Error(), pos) || !strings.HasSuffix(err.Error(), ": "+prefix+msg+" (the limit); refusing the manifest") {
			t.Fatalf("over the %s limit at %s: got %.500v", o.over, pos, err)
		}
	})
}

// laughsJob is a valid Job whose managedFields nest depth levels of width
// aliases each (lists, or mappings) over scalar repeated, then use the top
// level refs times.
func laughsJob(scalar string, repeat, width, depth, refs int, mapping bool) string {
	q := strconv.QuoteToASCII(scalar) // Go's escapes are all valid in YAML's double quotes
	repeat = min(repeat, (64<<10)/len(q))
	var b strings.Builder
	b.WriteString("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\n  managedFields:\n    - fieldsV1:\n")
	b.WriteString(`        s: &a0 "` + strings.Repeat(q[1:len(q)-1], repeat) + "\"\n")
	for d := 1; d <= depth; d++ {
		fmt.Fprintf(&b, "        l%d: &a%d ", d, d)
		if mapping {
			b.WriteString("{")
			for i := range width {
				fmt.Fprintf(&b, "k%d: *a%d, ", i, d-1)
			}
			b.WriteString("z: 0}\n")
			continue
		}
		b.WriteString("[" + strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", d-1), width), ", ") + "]\n")
	}
	b.WriteString("        use: [" + strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", depth), refs), ", ") + "]\n")
	b.WriteString("spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: a, image: b}]\n")
	return b.String()
}

// checkResult: exactly one of a complete Job or a non-empty ErrorList; every
// error names the file, and has a line within data unless it is about the
// whole file.
func checkResult(t *testing.T, file string, data []byte, j *Job, err error) {
	t.Helper()
	if err == nil {
		if j == nil || j.Object == nil || len(j.Template.Containers) == 0 {
			t.Fatalf("accepted but incomplete: %+v", j)
		}
		if j.Object.APIVersion != "batch/v1" || j.Object.Kind != "Job" {
			t.Fatalf("accepted %s/%s", j.Object.APIVersion, j.Object.Kind)
		}
		return
	}
	list, ok := AsErrorList(err)
	if !ok || len(list) == 0 || j != nil {
		t.Fatalf("bad failure: job %v, error %T %v", j, err, err)
	}
	// YAML counts these as line breaks too, so this is an upper bound.
	lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) +
		bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
	for _, e := range list {
		if e.File != file || !strings.HasPrefix(e.Error(), file) {
			t.Fatalf("error without the file name: %q", e.Error())
		}
		switch {
		case e.Line < 0 || e.Line > lines+1 || e.Col < 0 || e.Col > utf8.RuneCount(data)+1:
			t.Fatalf("error at %d:%d, outside the %d lines of the input: %q", e.Line, e.Col, lines, e.Error())
		case e.Line == 0 && !wholeFile(e.Msg):
			t.Fatalf("error without a line: %q", e.Error())
		}
	}
}

// wholeFile tells the messages that rightly have no line.
func wholeFile(msg string) bool {
	return strings.HasPrefix(msg, "invalid YAML: ") || strings.HasPrefix(msg, "too many errors") ||
		msg == "manifest is empty" || strings.HasPrefix(msg, "manifest is larger than")
}

// checkRoundTrip: j's Object, written as JSON and parsed again, gives the
// same object and the same neutral model.
func checkRoundTrip(t *testing.T, j *Job) {
	t.Helper()
	data, err := json.Marshal(j.Object)
	if err != nil {
		t.Fatalf("marshalling an accepted Job: %v", err)
	}
	if len(data) > MaxManifestBytes {
		return // aliases can make a Job larger than the file cap
	}
	j2, err := Parse("again.json", bytes.NewReader(data))
	if err != nil {
		if strings.Contains(err.Error(), "(the limit); refusing the manifest") {
			return // written out, it has a few more nodes (creationTimestamp: null, ...)
		}
		t.Fatalf("an accepted Job, written as JSON, is refused: %v\n%s", err, data)
	}
	data2, _ := json.Marshal(j2.Object)
	if a, b := jsonValue(t, data), jsonValue(t, data2); !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip changes the object:\n%s\n%s", data, data2)
	}
	m1, m2 := *j, *j2
	m1.Source, m1.Object, m1.Unmodelled = "", nil, nil
	m2.Source, m2.Object, m2.Unmodelled = "", nil, nil
	if !sameValue(reflect.ValueOf(m1), reflect.ValueOf(m2)) {
		t.Fatalf("round trip changes the model:\n%#v\n%#v", m1, m2)
	}
}

// sameValue is reflect.DeepEqual but for an empty slice or map, which equals
// nil: JSON leaves both out (omitempty), and backends treat them alike.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
		if a.Len() != b.Len() {
			return false
		}
		if a.Kind() == reflect.Map {
			for _, k := range a.MapKeys() {
				if v := b.MapIndex(k); !v.IsValid() || !sameValue(a.MapIndex(k), v) {
					return false
				}
			}
			return true
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// jsonValue decodes JSON to plain values, so that -0 equals 0 and 1.0 equals 1.
func jsonValue(t *testing.T, data []byte) any {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return v
}
