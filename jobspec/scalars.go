package jobspec

// Scalar conversions: each checks a YAML scalar against a Go leaf type, the
// way Kubernetes' YAML-to-JSON decoding would, and returns its JSON value.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// describe names a node for messages: `string "three"`, `integer 3`, `a list`.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch tag := n.ShortTag(); tag {
		case "!!str", "!!timestamp":
			return describeValue("string", n.Value)
		case "!!int":
			return describeValue("integer", n.Value)
		case "!!float":
			return describeValue("number", n.Value)
		case "!!bool":
			return describeValue("boolean", n.Value)
		case "!!null":
			return "null"
		default:
			return "value tagged " + tag + " " + strconv.Quote(truncate(n.Value))
		}
	}
	return "an unsupported YAML node"
}

// anyValue converts free-form YAML (raw JSON fields) to JSON.
func (w *walker) anyValue(n *yaml.Node, path string, depth int) (any, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		return w.mapping(n, anyType, path, depth)
	case yaml.SequenceNode:
		return w.list(n, anyType, path, "", false, depth)
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp", "!!binary":
			return n.Value, true
		case "!!bool":
			return w.boolean(n, path)
		case "!!int":
			var i int64
			if n.Decode(&i) == nil {
				return json.Number(strconv.FormatInt(i, 10)), true
			}
			return w.float(n, path)
		case "!!float":
			return w.float(n, path)
		}
	}
	w.errorAt(n, path, "unsupported value: "+describe(n))
	return nil, false
}

func (w *walker) str(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!timestamp":
			return n.Value, true
		case "!!int", "!!float", "!!bool":
			// Kubernetes refuses these too (env values such as 8080 are the classic case).
			w.errorAt(n, path, fmt.Sprintf("expected a string, got %s; quote it: %q", describe(n), n.Value))
			return nil, false
		}
	}
	w.mismatch(n, path, "a string")
	return nil, false
}

// yaml11Bools are YAML 1.1 booleans, which Kubernetes' YAML reader still accepts.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (w *walker) boolean(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b, true
			}
		case "!!str":
			if b, ok := yaml11Bools[n.Value]; ok && n.Style == 0 {
				return b, true
			}
		}
	}
	w.mismatch(n, path, "a boolean (true or false)")
	return nil, false
}

func (w *walker) integer(n *yaml.Node, t reflect.Type, path string) (any, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		w.mismatch(n, path, "an integer")
		return nil, false
	}
	var i int64
	if err := n.Decode(&i); err != nil {
		w.errorAt(n, path, fmt.Sprintf("integer %s is out of range", n.Value))
		return nil, false
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32:
		lo, hi = -1<<(t.Bits()-1), 1<<(t.Bits()-1)-1
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		lo, hi = 0, 1<<t.Bits()-1
	case reflect.Uint, reflect.Uint64:
		lo = 0
	}
	if i < lo || i > hi {
		w.errorAt(n, path, fmt.Sprintf("integer %s is out of range [%d, %d]", n.Value, lo, hi))
		return nil, false
	}
	return json.Number(strconv.FormatInt(i, 10)), true
}

func (w *walker) float(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
		}
	}
	w.mismatch(n, path, "a finite number")
	return nil, false
}

func (w *walker) quantity(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float":
			s := strings.TrimSpace(n.Value)
			if _, err := resource.ParseQuantity(s); err != nil {
				w.errorAt(n, path, fmt.Sprintf("invalid quantity %q: %v", n.Value, err))
				return nil, false
			}
			return s, true
		}
	}
	w.mismatch(n, path, `a quantity such as "500m" or "1Gi"`)
	return nil, false
}

func (w *walker) intOrString(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str":
			return n.Value, true
		case "!!int":
			return w.integer(n, reflect.TypeFor[int32](), path)
		}
	}
	w.mismatch(n, path, "an integer or a string")
	return nil, false
}

func (w *walker) timestamp(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!timestamp") {
		if _, err := time.Parse(time.RFC3339, n.Value); err == nil {
			return n.Value, true
		}
	}
	w.mismatch(n, path, `an RFC 3339 time such as "2006-01-02T15:04:05Z"`)
	return nil, false
}

func (w *walker) bytes(n *yaml.Node, path string) (any, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!str" || n.ShortTag() == "!!binary") {
		s := strings.Join(strings.Fields(n.Value), "")
		if _, err := base64.StdEncoding.DecodeString(s); err == nil {
			return s, true
		}
	}
	w.mismatch(n, path, "base64-encoded data")
	return nil, false
}
