package jobspec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"
)

const (
	wantAPIVersion = "batch/v1"
	wantKind       = "Job"
)

var jobType = reflect.TypeFor[batchv1.Job]()

// Parse reads one manifest (YAML or JSON) of at most MaxManifestBytes from r.
// source names it in errors ("job.yaml", "<stdin>"). It returns the Job, or an
// ErrorList (as error) with every problem found.
func Parse(source string, r io.Reader) (*Job, error) {
	data, errs := readManifest(source, r)
	if errs != nil {
		return nil, errs
	}
	root, errs := parseDocument(source, data)
	if errs != nil {
		return nil, errs
	}
	return build(source, root)
}

// Load reads the manifest at path, or stdin when path is "-". Errors opening
// the file are returned as they are (errors.Is(err, fs.ErrNotExist) works).
func Load(path string, stdin io.Reader) (*Job, error) {
	return loadFile(path, stdin, Parse)
}

// loadFile is parse of the file at path, or of stdin when path is "-".
func loadFile[T any](path string, stdin io.Reader, parse func(string, io.Reader) (T, error)) (T, error) {
	var zero T
	if path == "-" {
		if stdin == nil {
			return zero, ErrorList{{File: "<stdin>", Msg: "no standard input"}}
		}
		return parse("<stdin>", stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	defer f.Close()
	return parse(path, f)
}

// readManifest reads a manifest of at most MaxManifestBytes.
func readManifest(source string, r io.Reader) ([]byte, ErrorList) {
	// Read one byte more than allowed, to tell "at the limit" from "over it".
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestBytes+1))
	if err != nil {
		return nil, ErrorList{{File: source, Msg: "reading manifest: " + err.Error()}}
	}
	if len(data) > MaxManifestBytes {
		return nil, ErrorList{{File: source, Msg: fmt.Sprintf("manifest is larger than %d MiB", MaxManifestBytes>>20)}}
	}
	return data, nil
}

// parseDocument returns the top node of the single non-empty YAML document.
func parseDocument(source string, data []byte) (*yaml.Node, ErrorList) {
	var root *yaml.Node
	errs := eachDocument(source, data, func(top *yaml.Node) ErrorList {
		if root != nil {
			return ErrorList{{File: source, Line: top.Line, Col: top.Column,
				Msg: "a manifest holds exactly one Job; found a second YAML document"}}
		}
		root = top
		return nil
	})
	if errs != nil {
		return nil, errs
	}
	if root == nil {
		return nil, ErrorList{{File: source, Msg: "manifest is empty"}}
	}
	return root, nil
}

// eachDocument calls fn with the top node of every non-empty YAML document
// of data, in order, until fn returns errors.
func eachDocument(source string, data []byte, fn func(top *yaml.Node) ErrorList) ErrorList {
	dec := yaml.NewDecoder(bytes.NewReader(jsonText(data)))
	for {
		var doc yaml.Node
		err := decodeNode(dec, &doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return ErrorList{yamlError(source, err)}
		}
		top := &doc
		if doc.Kind == yaml.DocumentNode {
			if len(doc.Content) == 0 {
				continue
			}
			top = doc.Content[0]
		}
		if isNull(top) {
			continue // an empty document, such as a trailing "---"
		}
		if errs := fn(top); errs != nil {
			return errs
		}
	}
}

// jsonBreaks are characters the YAML parser takes for line breaks, which JSON
// takes for text.
var jsonBreaks = strings.NewReplacer("\u0085", `\u0085`, "\u2028", `\u2028`, "\u2029", `\u2029`)

// jsonText escapes jsonBreaks in a manifest Kubernetes would read as JSON (it
// starts with "{": apimachinery's yaml.IsJSONBuffer), so that a string keeps
// them rather than fold them into spaces. Outside strings they stay errors.
func jsonText(data []byte) []byte {
	if !bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) ||
		!bytes.ContainsAny(data, "\u0085\u2028\u2029") {
		return data
	}
	return []byte(jsonBreaks.Replace(string(data)))
}

// decodeNode guards against panics inside the YAML library.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	return dec.Decode(n)
}

var (
	yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)
	// yaml.v3 reports parser (not scanner) errors with 0-based lines, and
	// leaves the line out when it is the first; these are its parser messages.
	yamlParserErrRE = regexp.MustCompile(`^(did not find expected |found duplicate %|found incompatible YAML|found undefined tag)`)
)

// yamlError turns "yaml: line 3: did not find expected key" into a FieldError.
func yamlError(source string, err error) *FieldError {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &FieldError{File: source, Msg: "invalid YAML: " + err.Error()}
	}
	line, _ := strconv.Atoi(m[1]) // 0 when absent
	if yamlParserErrRE.MatchString(m[2]) {
		line++
	}
	return &FieldError{File: source, Line: line, Msg: "invalid YAML: " + m[2]}
}

// build checks root against the Job schema, decodes it and validates it.
func build(source string, root *yaml.Node) (*Job, error) {
	return buildSpent(source, root, &budget{})
}

// buildSpent is build with the decode limits shared with the other
// documents of the same file (see ParseAll): spent is what they decoded.
func buildSpent(source string, root *yaml.Node, spent *budget) (*Job, error) {
	if root.Kind != yaml.MappingNode {
		return nil, ErrorList{{File: source, Line: root.Line, Col: root.Column,
			Msg: "expected a Kubernetes object (a mapping), got " + describe(root)}}
	}
	if errs := checkTypeMeta(source, root); errs != nil {
		return nil, errs // another kind of object: its fields would only add noise
	}

	w := newWalker(source)
	obj := &batchv1.Job{}
	errs := w.decode(root, jobType, spent, obj, func(v *validator) {
		if obj.APIVersion == "" {
			v.add("apiVersion", required(`supported values: "`+wantAPIVersion+`"`))
		}
		if obj.Kind == "" {
			v.add("kind", required(`supported values: "`+wantKind+`"`))
		}
		v.job(obj)
	})
	if len(errs) > 0 {
		return nil, errs
	}
	return newJob(source, obj, w.unmodelled), nil
}

// decode walks root against typ's schema, decodes it into obj and runs
// validate on it: the errors of both, sorted and bounded, those the schema
// found first (a field that failed the schema would only repeat). spent
// carries the decode limits across the documents of one file.
func (w *walker) decode(root *yaml.Node, typ reflect.Type, spent *budget, obj any, validate func(*validator)) ErrorList {
	w.nodes, w.size = spent.nodes, spent.size
	w.locs[""] = loc{line: root.Line, col: root.Column}
	val, _ := w.value(root, typ, "", "", true, 0)
	spent.nodes, spent.size = w.nodes, w.size
	errs := w.errs
	if !w.abort {
		data, err := json.Marshal(val)
		if err == nil {
			err = json.Unmarshal(data, obj)
		}
		if err != nil {
			errs = append(errs, &FieldError{File: w.file, Line: root.Line, Col: root.Column,
				Msg: "internal error decoding the manifest: " + err.Error()})
		} else {
			bad := map[string]bool{}
			for _, e := range errs {
				bad[e.Field] = true
			}
			v := &validator{file: w.file, locs: w.locs}
			validate(v)
			for _, e := range v.errs {
				if !bad[e.Field] {
					errs = append(errs, e)
				}
			}
			w.tooMany = w.tooMany || v.tooMany
		}
	}
	errs = sortErrors(errs)
	if len(errs) > maxErrors {
		errs, w.tooMany = errs[:maxErrors], true
	}
	if w.tooMany {
		errs = append(errs, &FieldError{File: w.file, Msg: fmt.Sprintf("too many errors (stopped after %d)", maxErrors)})
	}
	return errs
}

// checkTypeMeta refuses a manifest that says it is something other than a batch/v1 Job.
func checkTypeMeta(source string, root *yaml.Node) ErrorList {
	return checkTypeMetaOf(source, root, wantKind)
}

// checkTypeMetaOf refuses a manifest that says it is something other than
// a batch/v1 object of one of kinds.
func checkTypeMetaOf(source string, root *yaml.Node, kinds ...string) ErrorList {
	var errs ErrorList
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			continue // not a string: the schema walk reports it
		}
		want := map[string][]string{"apiVersion": {wantAPIVersion}, "kind": kinds}[k.Value]
		if want != nil && !slices.Contains(want, v.Value) {
			errs = append(errs, &FieldError{File: source, Line: v.Line, Col: v.Column, Field: k.Value,
				Msg: unsupported(v.Value, want...)})
		}
	}
	return errs
}
