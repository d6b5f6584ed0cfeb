package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/batchctl/batchctl/backends"
)

// TestCronOutputSchema is TestOutputSchema for CronJobs: docs/cronjob-output.md
// and docs/schema/cronjobstatus.v1.json, generated from backends/cron.go
// (-update regenerates them).
func TestCronOutputSchema(t *testing.T) {
	comments := fieldComments(t, filepath.Join("..", "..", "backends", "cron.go"))
	status, run := reflect.TypeOf(backends.CronJobStatus{}), reflect.TypeOf(backends.CronJobRun{})
	var md bytes.Buffer
	md.WriteString(cronDocHeader)
	for _, typ := range []reflect.Type{status, run} {
		fmt.Fprintf(&md, "\n## %s\n\n| field | type | meaning |\n|---|---|---|\n", typ.Name())
		if typ == status {
			md.WriteString("| `apiVersion` | string | `" + outputAPIVersion + "` |\n| `kind` | string | `" + cronJobStatusKind + "` |\n")
		} else {
			md.WriteString("| … | | every field of a [JobStatus](output.md#jobstatus) |\n")
		}
		for _, f := range jsonFields(typ) {
			c := comments[typ.Name()+"."+f.goName]
			if c == "" {
				t.Errorf("backends.%s.%s has no comment to document it with", typ.Name(), f.goName)
			}
			fmt.Fprintf(&md, "| `%s` | %s | %s |\n", f.name, cronDocType(f.typ), strings.ReplaceAll(c, "|", "\\|"))
		}
	}
	schema := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://batchctl.dev/schema/cronjobstatus.v1.json",
		"title":       "CronJobStatus",
		"description": "batchctl's normalized status of one CronJob (" + outputAPIVersion + ")",
	}
	obj := cronObjectSchema(status, comments)
	for k, v := range obj {
		schema[k] = v
	}
	props := schema["properties"].(map[string]any)
	props["apiVersion"] = map[string]any{"const": outputAPIVersion}
	props["kind"] = map[string]any{"const": cronJobStatusKind}
	schema["required"] = append([]string{"apiVersion", "kind"}, schema["required"].([]string)...)
	// A run is a JobStatus with two more fields.
	runSchema := map[string]any{"allOf": []any{map[string]any{"$ref": "jobstatus.v1.json"}, cronObjectSchema(run, comments)}}
	props["jobs"] = map[string]any{"type": "array", "items": runSchema, "description": comments["CronJobStatus.Jobs"]}
	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	docs := filepath.Join("..", "..", "docs")
	for path, want := range map[string][]byte{
		filepath.Join(docs, "cronjob-output.md"):               md.Bytes(),
		filepath.Join(docs, "schema", "cronjobstatus.v1.json"): out,
	} {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not what the Go types say (%v): regenerate it with go test ./cmd/batchctl -run TestCronOutputSchema -update", path, err)
		}
	}
}

const cronDocHeader = `# batchctl's output schema: CronJobs

<!-- Generated from backends/cron.go by cmd/batchctl/cronschema_test.go; do not edit. -->

` + "`status`, `list`, `describe` and `status -w` print a CronJob as a CronJobStatus object (`apiVersion: batchctl.dev/v1`," + `
` + "`kind: CronJobStatus`" + `), the same on every backend; ` + "`list -o json`" + ` mixes them with the Jobs' JobStatus objects
([output.md](output.md)), told apart by their kind. ` + "`jobs`" + ` are filled by ` + "`status` and `describe`" + `, ` + "`events`" + ` by
` + "`describe`" + `. The JSON Schema is [schema/cronjobstatus.v1.json](schema/cronjobstatus.v1.json).
`

func cronDocType(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Int64:
		return "integer or null"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "array of strings"
	}
	return docType(t)
}

func cronObjectSchema(t reflect.Type, comments map[string]string) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range jsonFields(t) {
		var p map[string]any
		switch {
		case f.typ.Kind() == reflect.Bool:
			p = map[string]any{"type": "boolean"}
		case f.typ.Kind() == reflect.Pointer && f.typ.Elem().Kind() == reflect.Int64:
			p = map[string]any{"type": []string{"integer", "null"}}
		case f.typ.Kind() == reflect.Slice && f.typ.Elem().Kind() == reflect.String:
			p = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
		case f.typ.Name() == "CronJobState":
			p = map[string]any{"type": "string", "enum": []string{"Scheduled", "Active", "Suspended", "Lost"}}
		default:
			p = typeSchema(f.typ, comments)
		}
		p["description"] = comments[t.Name()+"."+f.goName]
		props[f.name] = p
		if !f.optional {
			required = append(required, f.name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}
