//go:build unix

package nomadagent

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// configure picks free ports and writes one config per process. -dev adds
// server, client and bootstrap_expect = 1 itself, with in-memory state.
// Data dirs are short: the task API socket path (alloc/<uuid>/<task>/
// secrets/api.sock under it) must fit in 108 bytes. The client puts its
// alloc_mounts beside its data dir, also under state/.
func (a *Agent) configure() error {
	n := 3
	if a.opts.Persistent {
		n = 6
	}
	ports, err := freePorts(n)
	if err != nil {
		return err
	}
	a.Addr = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	type spec struct{ name, body string }
	specs := []spec{{"agent", common(a.path("state", "agent"), ports[0:3]) + clientHCL("", a.DockerHost)}}
	if a.opts.Persistent {
		specs = []spec{
			{"server", common(a.path("state", "server"), ports[0:3]) + serverHCL},
			{"client", common(a.path("state", "client"), ports[3:6]) +
				clientHCL(fmt.Sprintf("servers = [\"127.0.0.1:%d\"]", ports[1]), a.DockerHost)},
		}
	}
	a.procs = nil
	for i, s := range specs {
		p := &proc{Name: s.name, Config: a.path(s.name + ".hcl"), Addr: fmt.Sprintf("http://127.0.0.1:%d", ports[3*i])}
		p.Args = []string{"agent", "-config", p.Config}
		if s.name == "agent" {
			p.Args = []string{"agent", "-dev", "-bind", "127.0.0.1", "-config", p.Config}
		}
		if a.opts.ACL {
			s.body += aclHCL
		}
		if err := os.WriteFile(p.Config, []byte(s.body), 0o644); err != nil {
			return err
		}
		a.procs = append(a.procs, p)
	}
	return nil
}

// common is what every process gets. The advertise block is needed outside
// -dev: Nomad refuses to default advertise addresses to loopback.
func common(dataDir string, p []int) string {
	return fmt.Sprintf(`# Written by batchctl e2e/nomadagent: a throwaway loopback test agent.
data_dir             = %q
bind_addr            = "127.0.0.1"
disable_update_check = true
log_level            = "DEBUG"

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

ports {
  http = %d
  rpc  = %d
  serf = %d
}
`, dataDir, p[0], p[1], p[2])
}

// leave_on_interrupt stays false: a single server that left could not
// restart into its own raft cluster.
const serverHCL = `
server {
  enabled          = true
  bootstrap_expect = 1
}
`

func clientHCL(servers, dockerHost string) string {
	denylist := `"driver.denylist" = "docker"` // no test daemon: no docker
	if dockerHost != "" {
		denylist = ""
	}
	return fmt.Sprintf(`
client {
  enabled           = true
  network_interface = "lo"
  %s
  options = {
    # AWS_CA_BUNDLE in the environment makes env_aws abort the agent, and the
    # cloud fingerprinters probe non-loopback metadata addresses.
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
    %s
  }
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, servers, denylist) + dockerHCL(dockerHost)
}

// dockerHCL points the docker driver at the test daemon. Every test agent
// shares that daemon, and its images were imported with no registry to pull
// them back from: so no image GC, and no removal of containers this agent
// does not know (another agent's).
func dockerHCL(host string) string {
	if host == "" {
		return ""
	}
	return fmt.Sprintf(`
plugin "docker" {
  config {
    endpoint = %q
    gc {
      image = false
      dangling_containers {
        enabled = false
      }
    }
  }
}
`, host)
}

// freePorts picks n loopback ports free for TCP and UDP (serf uses both).
// The listeners are closed before the agent binds them, so a race with
// another process is possible; Start then fails with the agent's log.
func freePorts(n int) ([]int, error) {
	var got []int
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for len(got) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { l.Close() })
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // UDP side taken: try another
		}
		closers = append(closers, func() { u.Close() })
		got = append(got, port)
	}
	return got, nil
}
