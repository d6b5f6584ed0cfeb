package jobspec

import (
	"gopkg.in/yaml.v3"
)

// sizeOracle recomputes the decoded-size budget independently of the walker:
// it expands src's aliases in document order (a mapping's keys, then its
// values), counting the root, every key and every value, and finds where a
// limit is first crossed. It agrees with
// Parse only for documents the walker walks whole: no merge keys, no unknown
// fields, no type mismatches (free-form fields such as fieldsV1 qualify).
type sizeOracle struct {
	nodes, bytes int
	via          *yaml.Node // outermost alias being expanded
	hit          *yaml.Node // where the crossing is reported: via, or the node itself
	over         string     // "nodes" or "bytes"
}

func decodedSize(src string) *sizeOracle {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		panic("sizeOracle: " + err.Error())
	}
	o := &sizeOracle{}
	o.walk(doc.Content[0])
	return o
}

func (o *sizeOracle) spend(n *yaml.Node, size int) bool {
	if o.hit != nil {
		return false
	}
	o.nodes++
	o.bytes += size
	switch {
	case o.nodes > MaxDecodedNodes:
		o.over = "nodes"
	case o.bytes > MaxDecodedBytes:
		o.over = "bytes"
	default:
		return true
	}
	o.hit = n
	if o.via != nil {
		o.hit = o.via
	}
	return false
}

// enter marks alias a as expanding unless an outer one is; call the result when done.
func (o *sizeOracle) enter(a *yaml.Node) func() {
	if o.via != nil {
		return func() {}
	}
	o.via = a
	return func() { o.via = nil }
}

func (o *sizeOracle) walk(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		defer o.enter(n)()
		n = n.Alias
	}
	if !o.spend(n, text(n)) {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		// The walker lists a mapping's keys before it walks the values.
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.AliasNode {
				done := o.enter(k)
				o.spend(k, text(k.Alias))
				done()
			} else {
				o.spend(k, text(k))
			}
		}
		for i := 1; i < len(n.Content) && o.hit == nil; i += 2 {
			o.walk(n.Content[i])
		}
	case yaml.SequenceNode:
		for _, e := range n.Content {
			o.walk(e)
		}
	}
}
