package scenario

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// WriteExpect records o as the scenario's expect: block in its file,
// leaving every other line as it is (comments included).
func (s *Scenario) WriteExpect(o Outcome) error {
	if s.Path == "" {
		return fmt.Errorf("scenario %s was not loaded from a file", s.Name)
	}
	if err := o.validate(); err != nil {
		return fmt.Errorf("%s: outcome to record: %v", s.Path, err)
	}
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return err
	}
	out, err := replaceExpect(data, o.YAML())
	if err != nil {
		return fmt.Errorf("%s: %v", s.Path, err)
	}
	if bytes.Equal(out, data) {
		return nil
	}
	s.Expect = &o
	return os.WriteFile(s.Path, out, 0o644)
}

// replaceExpect puts block in place of the top-level expect: entry, or
// appends it when there is none.
func replaceExpect(data []byte, block string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	m := doc.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value != "expect" {
			continue
		}
		from, to := m.Content[i].Line-1, len(lines) // 0-based, [from, to)
		if i+2 < len(m.Content) {
			to = m.Content[i+2].Line - 1
		}
		// Keep blank lines and comments between the block and the next key.
		for to > from+1 && isBlankOrComment(lines[to-1]) {
			to--
		}
		rest := append([]string{block}, lines[to:]...)
		return []byte(strings.Join(append(lines[:from:from], rest...), "")), nil
	}
	s := string(data)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + block), nil
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || strings.HasPrefix(t, "#")
}
