package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batchctl/batchctl/backends"
)

// The output schema of status, list and describe (-o json|yaml) is
// documented in docs/output.md and described by a JSON Schema in
// docs/schema/, both generated from the Go types and their comments. This
// test fails when a field changes without them: `go test ./cmd/batchctl
// -run TestOutputSchema -update` regenerates both.
func TestOutputSchema(t *testing.T) {
	comments := fieldComments(t, filepath.Join("..", "..", "backends", "status.go"))
	types := []reflect.Type{reflect.TypeOf(backends.Status{}), reflect.TypeOf(backends.Attempt{}), reflect.TypeOf(backends.Event{})}

	var md bytes.Buffer
	md.WriteString(docHeader)
	for _, typ := range types {
		fmt.Fprintf(&md, "\n## %s\n\n| field | type | meaning |\n|---|---|---|\n", schemaTitle(typ))
		if typ.Name() == "Status" {
			md.WriteString("| `apiVersion` | string | `" + outputAPIVersion + "` |\n| `kind` | string | `" + statusKind + "` |\n")
		}
		for _, f := range jsonFields(typ) {
			c := comments[typ.Name()+"."+f.goName]
			if c == "" {
				t.Errorf("backends.%s.%s has no comment to document it with", typ.Name(), f.goName)
			}
			fmt.Fprintf(&md, "| `%s` | %s | %s |\n", f.name, f.docType, strings.ReplaceAll(c, "|", "\\|"))
		}
	}
	schema, err := json.MarshalIndent(jsonSchema(types[0], comments), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	schema = append(schema, '\n')
	docs := filepath.Join("..", "..", "docs")
	for path, want := range map[string][]byte{
		filepath.Join(docs, "output.md"):                   md.Bytes(),
		filepath.Join(docs, "schema", "jobstatus.v1.json"): schema,
	} {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what the Go types say (%v): regenerate it with go test ./cmd/batchctl -run TestOutputSchema -update", path, err)
		}
	}
}

const docHeader = `# batchctl's output schema

<!-- Generated from backends/status.go by cmd/batchctl/schema_test.go; do not edit. -->

` + "`status`, `list`, `describe`, `wait -o json` and their watch streams (`status -w`, `list -w`, JSON Lines)" + `
print each job as a JobStatus object, the same on every backend. The object carries ` + "`apiVersion: batchctl.dev/v1`" + `
and ` + "`kind: JobStatus`" + `; a change that alters what an existing field means gets a new apiVersion, while
new fields may be added within one. ` + "`list -o json`" + ` is an array of them; ` + "`attempts` and `events`" + ` are filled by
` + "`describe`" + ` (and by ` + "`status`" + ` where they are cheap). Timestamps are RFC 3339; absent optional fields are left
out, and ` + "`startTime`/`completionTime`" + ` are null until set. The JSON Schema is
[schema/jobstatus.v1.json](schema/jobstatus.v1.json).
`

func schemaTitle(t reflect.Type) string {
	if t.Name() == "Status" {
		return "JobStatus"
	}
	return t.Name()
}

type jsonField struct {
	name, goName, docType string
	typ                   reflect.Type
	optional              bool
}

func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, jsonField{name: name, goName: f.Name, typ: f.Type, docType: docType(f.Type),
			optional: strings.Contains(opts, "omitempty") || f.Type.Kind() == reflect.Pointer})
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

func docType(t reflect.Type) string {
	nullable := ""
	if t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), " or null"
	}
	switch {
	case t == timeType:
		return "timestamp" + nullable
	case t.Kind() == reflect.String:
		return "string" + nullable
	case t.Kind() == reflect.Int32:
		return "integer" + nullable
	case t.Kind() == reflect.Map:
		return "object of strings"
	case t.Kind() == reflect.Slice:
		return "array of " + schemaTitle(t.Elem())
	}
	return t.String()
}

func jsonSchema(t reflect.Type, comments map[string]string) map[string]any {
	s := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://batchctl.dev/schema/jobstatus.v1.json",
		"title":       "JobStatus",
		"description": "batchctl's normalized status of one job (" + outputAPIVersion + ")",
	}
	for k, v := range objectSchema(t, comments) {
		s[k] = v
	}
	props := s["properties"].(map[string]any)
	props["apiVersion"] = map[string]any{"const": outputAPIVersion}
	props["kind"] = map[string]any{"const": statusKind}
	s["required"] = append([]string{"apiVersion", "kind"}, s["required"].([]string)...)
	return s
}

func objectSchema(t reflect.Type, comments map[string]string) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range jsonFields(t) {
		p := typeSchema(f.typ, comments)
		p["description"] = comments[t.Name()+"."+f.goName]
		props[f.name] = p
		if !f.optional {
			required = append(required, f.name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}

func typeSchema(t reflect.Type, comments map[string]string) map[string]any {
	if t.Kind() == reflect.Pointer {
		s := typeSchema(t.Elem(), comments)
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
		return s
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		if t.Name() == "Phase" {
			return map[string]any{"type": "string", "enum": []string{"Pending", "Running", "Succeeded", "Failed"}}
		}
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Int32:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": objectSchema(t.Elem(), comments)}
	}
	return map[string]any{}
}

// fieldComments reads the doc comments of the struct fields in a Go file,
// by "Type.Field".
func fieldComments(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return true
		}
		for _, field := range st.Fields.List {
			if field.Doc == nil {
				continue
			}
			text := strings.Join(strings.Fields(field.Doc.Text()), " ")
			for _, name := range field.Names {
				out[ts.Name.Name+"."+name.Name] = sentence(strings.TrimPrefix(text, name.Name+" "))
			}
		}
		return false
	})
	return out
}

// sentence turns "is the job's name" (what follows the field's name in its
// comment) into "The job's name".
func sentence(s string) string {
	for _, verb := range []string{"is ", "are "} {
		s = strings.TrimPrefix(s, verb)
	}
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
