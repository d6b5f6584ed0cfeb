package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// FilePath is the config file commands write: --config, BATCHCTL_CONFIG,
// else $XDG_CONFIG_HOME/batchctl/config.yaml (~/.config/batchctl/...).
func FilePath(flag string, getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	p, _ := configPath(flag, getenv)
	if p == "" {
		return "", errors.New("no config file: set --config, BATCHCTL_CONFIG, XDG_CONFIG_HOME or HOME")
	}
	return p, nil
}

// CheckKey validates a key to set in the config file — a setting, a
// setting within a context ("contexts.NAME.KEY"), or current-context — and
// its value, by the setting's type.
func CheckKey(settings []Setting, key, value string) error {
	if key == "current-context" {
		return nil
	}
	name := settingKey(key)
	if strings.HasPrefix(key, "contexts.") {
		if parts := strings.SplitN(key, ".", 3); len(parts) < 3 || parts[1] == "" {
			return fmt.Errorf("%s: want contexts.NAME.KEY", key)
		}
	}
	for i := range settings {
		if settings[i].Key == name {
			return settings[i].check(value, "the command line")
		}
	}
	return fmt.Errorf("unknown key %s", key)
}

// SetInFile sets key (dotted) to value in the YAML file at path, creating
// the file (0600) and any mapping on the way, and keeping the file's
// comments and the order of its keys.
func SetInFile(path, key, value string) error {
	var doc yaml.Node
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: the top level is not a mapping", path)
	}
	parts := splitKey(key)
	node := root
	for i, p := range parts {
		last := i == len(parts)-1
		child := lookup(node, p)
		if child == nil {
			child = &yaml.Node{Kind: yaml.MappingNode}
			if last {
				child = &yaml.Node{Kind: yaml.ScalarNode}
			}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, child)
		}
		if last {
			if child.Kind != yaml.ScalarNode {
				return fmt.Errorf("config file %s: %s is not a single value", path, key)
			}
			child.Value, child.Tag, child.Style = value, "", 0
			break
		}
		if child.Kind != yaml.MappingNode {
			if len(child.Content) > 0 || child.Value != "" {
				return fmt.Errorf("config file %s: %s is not a mapping", path, strings.Join(parts[:i+1], "."))
			}
			child.Kind, child.Tag = yaml.MappingNode, ""
		}
		node = child
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// splitKey splits "contexts.prod.k8s.context" at its dots; a context name
// is one element whatever it holds.
func splitKey(key string) []string {
	if rest, ok := strings.CutPrefix(key, "contexts."); ok {
		name, setting, _ := strings.Cut(rest, ".")
		return append([]string{"contexts", name}, strings.Split(setting, ".")...)
	}
	return strings.Split(key, ".")
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// Context is one context of the config file.
type Context struct {
	Name     string            `json:"name"`
	Settings map[string]string `json:"settings"`
}

// Contexts lists the contexts of the config file at path, in file order,
// and its current-context.
func Contexts(path string) ([]Context, string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, "", fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, "", nil
	}
	root := doc.Content[0]
	current := ""
	if n := lookup(root, "current-context"); n != nil {
		current = n.Value
	}
	cs := lookup(root, "contexts")
	if cs == nil || cs.Kind != yaml.MappingNode {
		return nil, current, nil
	}
	var out []Context
	for i := 0; i+1 < len(cs.Content); i += 2 {
		c := Context{Name: cs.Content[i].Value, Settings: map[string]string{}}
		flatten("", cs.Content[i+1], c.Settings)
		out = append(out, c)
	}
	return out, current, nil
}

func flatten(prefix string, n *yaml.Node, out map[string]string) {
	if n.Kind != yaml.MappingNode {
		out[prefix] = n.Value
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if prefix != "" {
			k = prefix + "." + k
		}
		flatten(k, n.Content[i+1], out)
	}
}
