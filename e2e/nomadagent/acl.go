//go:build unix

package nomadagent

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// aclHCL enables ACLs on every process of an agent started with Options.ACL.
const aclHCL = `
acl {
  enabled = true
}
`

// bootstrapACL creates the management token once the server has a leader,
// keeping its secret for this package's requests. A restarted persistent
// agent is bootstrapped already and keeps the token it had.
func (a *Agent) bootstrapACL(ctx context.Context, addr string) error {
	if !a.opts.ACL || a.ManagementToken != "" {
		return nil
	}
	var tok struct{ SecretID string }
	if _, err := a.do(ctx, addr, "PUT", "/v1/acl/bootstrap", nil, &tok); err != nil {
		return fmt.Errorf("ACL bootstrap: %w", err)
	}
	if tok.SecretID == "" {
		return errors.New("ACL bootstrap: no secret in the answer")
	}
	a.ManagementToken = tok.SecretID
	return a.saveState()
}

// CreateToken creates an ACL policy named name with rules (Nomad's policy
// language, e.g. `namespace "default" { policy = "read" }`) and a client
// token holding only it, and returns the token's secret. The agent must run
// with Options.ACL.
func (a *Agent) CreateToken(ctx context.Context, name, rules string) (string, error) {
	if a.ManagementToken == "" {
		return "", errors.New("CreateToken: the agent runs without ACLs (Options.ACL)")
	}
	policy := map[string]any{"Name": name, "Rules": rules}
	if _, err := a.Do(ctx, "PUT", "/v1/acl/policy/"+url.PathEscape(name), policy, nil); err != nil {
		return "", fmt.Errorf("CreateToken: %w", err)
	}
	var tok struct{ SecretID string }
	if _, err := a.Do(ctx, "PUT", "/v1/acl/token", map[string]any{"Name": name, "Type": "client", "Policies": []string{name}}, &tok); err != nil {
		return "", fmt.Errorf("CreateToken: %w", err)
	}
	if tok.SecretID == "" {
		return "", errors.New("CreateToken: no secret in the answer")
	}
	return tok.SecretID, nil
}
