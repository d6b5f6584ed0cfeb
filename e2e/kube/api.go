//go:build linux

package kube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient is a minimal admin client for readiness checks and tests.
type apiClient struct {
	server string
	http   *http.Client
}

func newAPIClient(server string, p *pki) (*apiClient, error) {
	cert, err := tls.X509KeyPair(p.adminPEM, p.adminKeyPEM)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}
	return &apiClient{server: server, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}}, nil
}

func (a *apiClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.server+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// plainOK reports whether a plain-HTTP GET answers 200 with want in the body.
func (a *apiClient) plainOK(ctx context.Context, url, want string) bool {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && strings.Contains(string(b), want)
}

// Do sends one request to the API server as the admin user and returns the
// status code and body; body, if not nil, is sent as JSON.
func (c *Cluster) Do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	return c.api.do(ctx, method, path, body)
}

// createNode registers the node kwok manages, as a kubelet would. kwok fills
// in its status; the node-lifecycle controller then lifts the not-ready taint.
// Next to a real node it is tainted with SimulatedTaint, so only pods that
// ask for simulation land there.
func (c *Cluster) createNode(ctx context.Context, tainted bool) error {
	spec := ""
	if tainted {
		spec = `,"spec":{"taints":[{"key":"` + SimulatedTaint + `","value":"true","effect":"NoSchedule"}]}`
	}
	node := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"` + nodeName + `",
	"labels":{"kubernetes.io/hostname":"` + nodeName + `","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","` + SimulatedNodeLabel + `":"kwok"},
	"annotations":{"kwok.x-k8s.io/node":"fake","node.alpha.kubernetes.io/ttl":"0"}}` + spec + `}`
	code, b, err := c.api.do(ctx, "POST", "/api/v1/nodes", []byte(node))
	if err != nil {
		return fmt.Errorf("kube: create node: %w", err)
	}
	if code != 201 && code != 409 {
		return fmt.Errorf("kube: create node: HTTP %d: %s", code, b)
	}
	return nil
}

func (c *Cluster) nodeReady(ctx context.Context, name string) (bool, error) {
	code, b, err := c.api.do(ctx, "GET", "/api/v1/nodes/"+name, nil)
	if err != nil || code != 200 {
		return false, err
	}
	var n struct {
		Spec struct {
			Taints []struct{ Key string }
		}
		Status struct {
			Conditions []struct{ Type, Status string }
		}
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return false, err
	}
	for _, t := range n.Spec.Taints {
		if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			return false, nil
		}
	}
	for _, cond := range n.Status.Conditions {
		if cond.Type == "Ready" {
			return cond.Status == "True", nil
		}
	}
	return false, nil
}

// RealNode reports whether a real kubelet runs the cluster's pods.
func (c *Cluster) RealNode() bool { return c.node != nil }

// Simulated reports whether pods only move through phases (kwok alone):
// nothing executes, logs are canned.
func (c *Cluster) Simulated() bool { return c.node == nil }
