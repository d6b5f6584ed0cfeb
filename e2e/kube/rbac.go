//go:build linux

package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Grant is one rule of a Role: verbs on resources of an API group ("" is
// the core group).
type Grant struct {
	Group     string
	Resources []string
	Verbs     []string
}

// ServiceAccountKubeconfig makes a ServiceAccount that may do only what
// grants allow in namespace, and returns a kubeconfig that authenticates as
// it, as a workload in the cluster would: as the admin it creates the
// namespace (if missing), the ServiceAccount, a Role with grants and a
// RoleBinding, then asks the TokenRequest API for the account's token. The
// kubeconfig's context has namespace as its namespace. The API server
// authorizes the token with RBAC.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string, grants ...Grant) (string, error) {
	ns := url.PathEscape(namespace)
	create := func(path string, obj any, okCodes ...int) ([]byte, error) {
		body, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		code, out, err := c.Do(ctx, "POST", path, body)
		if err != nil {
			return nil, fmt.Errorf("kube: POST %s: %w", path, err)
		}
		for _, ok := range okCodes {
			if code == ok {
				return out, nil
			}
		}
		return nil, fmt.Errorf("kube: POST %s: HTTP %d: %s", path, code, out)
	}
	meta := func(n string) map[string]any { return map[string]any{"name": n, "namespace": namespace} }
	if _, err := create("/api/v1/namespaces", map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": namespace}}, 201, 409); err != nil {
		return "", err
	}
	if _, err := create("/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
		"metadata": meta(name)}, 201); err != nil {
		return "", err
	}
	var rules []map[string]any
	for _, g := range grants {
		rules = append(rules, map[string]any{"apiGroups": []string{g.Group}, "resources": g.Resources, "verbs": g.Verbs})
	}
	if _, err := create("/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/roles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(name), "rules": rules}, 201); err != nil {
		return "", err
	}
	if _, err := create("/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/rolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(name),
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
		"subjects": []map[string]any{{"kind": "ServiceAccount", "name": name, "namespace": namespace}},
	}, 201); err != nil {
		return "", err
	}
	out, err := create("/api/v1/namespaces/"+ns+"/serviceaccounts/"+url.PathEscape(name)+"/token", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"expirationSeconds": 3600}}, 201)
	if err != nil {
		return "", err
	}
	var tr struct {
		Status struct{ Token string }
	}
	if err := json.Unmarshal(out, &tr); err != nil || tr.Status.Token == "" {
		return "", fmt.Errorf("kube: TokenRequest for %s/%s: no token in %s (%v)", namespace, name, out, err)
	}
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: batchctl-e2e
  cluster:
    server: ` + c.Server + `
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(c.pki.caPEM) + `
users:
- name: ` + name + `
  user:
    token: ` + tr.Status.Token + `
contexts:
- name: ` + name + `
  context:
    cluster: batchctl-e2e
    user: ` + name + `
    namespace: ` + namespace + `
current-context: ` + name + `
`
	path := filepath.Join(c.WorkDir, "kubeconfig-"+namespace+"-"+name)
	return path, os.WriteFile(path, []byte(kubeconfig), 0o600)
}
