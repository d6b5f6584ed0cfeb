package local

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/batchctl/batchctl/backends"
	"github.com/batchctl/batchctl/jobspec"
)

// What runtime docker makes of a pod's volumes, containers and security
// settings (the plan), and what it reports it cannot honour (fidelity).

// volumesPlan keeps the pod's emptyDir volumes, and its hostPath ones when
// the user allows them (local.allow-host-path); any other is refused, named.
func (b *backend) volumesPlan(vols []corev1.Volume) ([]VolumePlan, error) {
	var out []VolumePlan
	for i, v := range vols {
		at := fmt.Sprintf("spec.template.spec.volumes[%d]", i)
		switch {
		case v.EmptyDir != nil:
			e := &EmptyDirPlan{Medium: string(v.EmptyDir.Medium)}
			if v.EmptyDir.SizeLimit != nil && !v.EmptyDir.SizeLimit.IsZero() {
				e.SizeLimit = v.EmptyDir.SizeLimit.String()
			}
			switch v.EmptyDir.Medium {
			case corev1.StorageMediumDefault, corev1.StorageMediumMemory:
			default:
				return nil, fmt.Errorf("%s.emptyDir.medium (%s): %q is not supported by the docker runtime (\"\" or Memory)", at, v.Name, v.EmptyDir.Medium)
			}
			out = append(out, VolumePlan{Name: v.Name, EmptyDir: e})
		case v.HostPath != nil:
			if !b.allowHostPath {
				return nil, fmt.Errorf("%s.hostPath (%s): hostPath volumes mount the daemon's machine into the job; set local.allow-host-path: true to allow them", at, v.Name)
			}
			typ := ""
			if v.HostPath.Type != nil {
				typ = string(*v.HostPath.Type)
			}
			switch corev1.HostPathType(typ) {
			case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFile,
				corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev:
			default:
				return nil, fmt.Errorf("%s.hostPath.type (%s): %s is not supported by the docker runtime", at, v.Name, typ)
			}
			if !path.IsAbs(v.HostPath.Path) {
				return nil, fmt.Errorf("%s.hostPath.path (%s): %q is not an absolute path", at, v.Name, v.HostPath.Path)
			}
			out = append(out, VolumePlan{Name: v.Name, HostPath: &HostPathPlan{Path: v.HostPath.Path, Type: typ}})
		default:
			return nil, fmt.Errorf("%s (%s): %s volumes are not supported by the local backend's docker runtime: only emptyDir, and hostPath where local.allow-host-path is true",
				at, v.Name, volumeKind(v))
		}
	}
	return out, nil
}

// volumeKind names the source a volume uses, as its field is named.
func volumeKind(v corev1.Volume) string {
	b, err := json.Marshal(v.VolumeSource)
	if err == nil {
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) == nil {
			for k := range m {
				return k
			}
		}
	}
	return "these"
}

// dockerContainerPlan is container c for runtime docker: its image and
// pull policy (as the API server defaults it), command and args kept apart
// (they replace ENTRYPOINT and CMD), working directory, mounts and
// effective security settings.
func dockerContainerPlan(at string, c jobspec.Container, native corev1.Container, pull corev1.PullPolicy, pod *corev1.PodSpec, vols []VolumePlan) (ContainerPlan, error) {
	cp := ContainerPlan{Name: c.Name, Image: c.Image, ImagePullPolicy: string(pull), Command: c.Command, Args: c.Args,
		WorkingDir: c.WorkingDir, Limits: c.Resources.Limits, Requests: c.Resources.Requests}
	if c.Image == "" {
		return cp, fmt.Errorf("%s.image (%s): required by the docker runtime", at, c.Name)
	}
	if cp.WorkingDir != "" && !path.IsAbs(cp.WorkingDir) {
		return cp, fmt.Errorf("%s.workingDir (%s): %q must be an absolute path in a container", at, c.Name, cp.WorkingDir)
	}
	for i, m := range native.VolumeMounts {
		field := fmt.Sprintf("%s.volumeMounts[%d]", at, i)
		if !slices.ContainsFunc(vols, func(v VolumePlan) bool { return v.Name == m.Name }) {
			return cp, fmt.Errorf("%s.name (%s): no volume %q in spec.template.spec.volumes", field, c.Name, m.Name)
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			return cp, fmt.Errorf("%s.subPath (%s): not supported by the docker runtime; mount the whole volume", field, c.Name)
		}
		if !path.IsAbs(m.MountPath) {
			return cp, fmt.Errorf("%s.mountPath (%s): %q is not an absolute path", field, c.Name, m.MountPath)
		}
		cp.Mounts = append(cp.Mounts, MountPlan{Name: m.Name, MountPath: path.Clean(m.MountPath), ReadOnly: m.ReadOnly})
	}
	cp.Security = securityPlan(pod.SecurityContext, native.SecurityContext)
	return cp, nil
}

// securityPlan merges the container's securityContext over the pod's, as
// the kubelet does (DetermineEffectiveSecurityContext).
func securityPlan(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) *SecurityPlan {
	s := &SecurityPlan{}
	if pod != nil {
		s.RunAsUser, s.RunAsGroup = pod.RunAsUser, pod.RunAsGroup
		s.RunAsNonRoot = pod.RunAsNonRoot != nil && *pod.RunAsNonRoot
		if pod.FSGroup != nil {
			s.SupplementalGroups = append(s.SupplementalGroups, *pod.FSGroup)
		}
		s.SupplementalGroups = append(s.SupplementalGroups, pod.SupplementalGroups...)
		if sp := pod.SeccompProfile; sp != nil {
			s.SeccompUnconfined = sp.Type == corev1.SeccompProfileTypeUnconfined
		}
	}
	if c != nil {
		if c.RunAsUser != nil {
			s.RunAsUser = c.RunAsUser
		}
		if c.RunAsGroup != nil {
			s.RunAsGroup = c.RunAsGroup
		}
		if c.RunAsNonRoot != nil {
			s.RunAsNonRoot = *c.RunAsNonRoot
		}
		s.ReadOnlyRootFilesystem = c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem
		s.Privileged = c.Privileged != nil && *c.Privileged
		s.NoNewPrivileges = c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation
		if sp := c.SeccompProfile; sp != nil {
			s.SeccompUnconfined = sp.Type == corev1.SeccompProfileTypeUnconfined
		}
		if c.Capabilities != nil {
			for _, cap := range c.Capabilities.Add {
				s.CapAdd = append(s.CapAdd, string(cap))
			}
			for _, cap := range c.Capabilities.Drop {
				s.CapDrop = append(s.CapDrop, string(cap))
			}
		}
	}
	if s.RunAsUser == nil && s.RunAsGroup == nil && !s.RunAsNonRoot && !s.ReadOnlyRootFilesystem && !s.Privileged &&
		!s.NoNewPrivileges && len(s.CapAdd) == 0 && len(s.CapDrop) == 0 && len(s.SupplementalGroups) == 0 && !s.SeccompUnconfined {
		return nil
	}
	return s
}

// securityApplied says how runtime docker applies each securityContext
// field it honours (by JSON name): the kubelet's work, done by batchctl.
// As every field outside the neutral model, a securityContext is named in
// the report: emulated, saying how.
var securityApplied = map[string]string{
	"runAsUser":                "the container's user (Docker's --user)",
	"runAsGroup":               "the container's group (Docker's --user uid:gid)",
	"runAsNonRoot":             "checked against the user the container would run as before it is created, as the kubelet does (CreateContainerConfigError when root)",
	"readOnlyRootFilesystem":   "the container's root filesystem is mounted read-only",
	"privileged":               "Docker's --privileged",
	"capabilities":             "Docker's --cap-add and --cap-drop",
	"allowPrivilegeEscalation": "false is Docker's no-new-privileges",
	"supplementalGroups":       "added to each container's groups",
	"seccompProfile":           "RuntimeDefault is the daemon's default profile, Unconfined Docker's seccomp=unconfined",
}

// seccompApplied: the seccomp profiles runtime docker can apply.
func seccompApplied(sp *corev1.SeccompProfile) bool {
	return sp != nil && (sp.Type == corev1.SeccompProfileTypeRuntimeDefault || sp.Type == corev1.SeccompProfileTypeUnconfined)
}

// securityHow lists how each of keys is applied.
func securityHow(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + securityApplied[k]
	}
	return strings.Join(parts, "; ")
}

// podSecurity are the pod securityContext fields applied to each container.
var podSecurity = []string{"runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups", "seccompProfile"}

// dockerFidelity reports, for runtime docker, the fields of job that
// fidelity's generic rules cannot judge: resources, volumes, mounts and
// securityContext field by field. handled lists the Unmodelled paths it
// took care of.
func dockerFidelity(job *jobspec.Job, add func(field string, level backends.FidelityLevel, outcome bool, msg string)) (handled func(string) bool) {
	spec := job.Object.Spec.Template.Spec
	done := map[string]bool{}
	for i, v := range spec.Volumes {
		at := fmt.Sprintf("spec.template.spec.volumes[%d]", i)
		if e := v.EmptyDir; e != nil && e.Medium != corev1.StorageMediumMemory && e.SizeLimit != nil && !e.SizeLimit.IsZero() {
			add(at+".emptyDir.sizeLimit", backends.Unsupported, true,
				"not enforced on a disk volume: a pod that writes more runs on, where Kubernetes would evict it")
		}
	}
	done["spec.template.spec.volumes"] = true
	if sc := spec.SecurityContext; sc != nil {
		var applied []string
		for _, k := range setFields(sc) {
			field := "spec.template.spec.securityContext." + k
			switch {
			case k == "seccompProfile" && !seccompApplied(sc.SeccompProfile):
				add(field, backends.Unsupported, true, "only RuntimeDefault and Unconfined are honoured by the docker runtime: the daemon's default profile applies")
			case slices.Contains(podSecurity, k):
				applied = append(applied, k)
			case k == "fsGroup":
				add(field, backends.Approximated, false,
					"added to each container's groups; volumes are not given its group (emptyDir volumes are writable by all)")
			default:
				add(field, backends.Unsupported, true, "not honoured by the docker runtime: the job runs as if it were absent")
			}
		}
		if len(applied) > 0 {
			add("spec.template.spec.securityContext", backends.Emulated, false, "applied to each container: "+securityHow(applied))
		}
	}
	done["spec.template.spec.securityContext"] = true
	for _, list := range []struct {
		field string
		cs    []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, c := range list.cs {
			at := fmt.Sprintf("spec.template.spec.%s[%d]", list.field, i)
			done[at+".imagePullPolicy"] = true
			done[at+".volumeMounts"] = true
			done[at+".securityContext"] = true
			for j, m := range c.VolumeMounts {
				if m.MountPropagation != nil {
					add(fmt.Sprintf("%s.volumeMounts[%d].mountPropagation", at, j), backends.Unsupported, true,
						"not honoured by the docker runtime: mounts are private")
				}
				if m.RecursiveReadOnly != nil {
					add(fmt.Sprintf("%s.volumeMounts[%d].recursiveReadOnly", at, j), backends.Approximated, false,
						"not honoured by the docker runtime: readOnly applies to the mount itself")
				}
			}
			if c.SecurityContext != nil {
				var applied []string
				for _, k := range setFields(c.SecurityContext) {
					if k == "seccompProfile" && !seccompApplied(c.SecurityContext.SeccompProfile) {
						add(at+".securityContext."+k, backends.Unsupported, true, "only RuntimeDefault and Unconfined are honoured by the docker runtime: the daemon's default profile applies")
					} else if _, ok := securityApplied[k]; ok && k != "supplementalGroups" {
						applied = append(applied, k)
					} else {
						add(at+".securityContext."+k, backends.Unsupported, true, "not honoured by the docker runtime: the job runs as if it were absent")
					}
				}
				if len(applied) > 0 {
					add(at+".securityContext", backends.Emulated, false, "applied as the kubelet would: "+securityHow(applied))
				}
			}
			for j, e := range c.Env {
				if f := e.ValueFrom; f != nil && f.FieldRef != nil && strings.HasPrefix(f.FieldRef.FieldPath, "status.podIP") {
					add(fmt.Sprintf("%s.env[%d].valueFrom.fieldRef", at, j), backends.Approximated, false,
						"the pod's IP is given as this machine's address, not the container's")
				}
			}
			var other []string
			for k := range c.Resources.Limits {
				if k != corev1.ResourceCPU && k != corev1.ResourceMemory {
					other = append(other, string(k))
				}
			}
			sort.Strings(other)
			for _, k := range other {
				add(at+".resources.limits."+k, backends.Unsupported, true, "not enforced by the docker runtime")
			}
			if _, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
				add(at+".resources.requests.memory", backends.Approximated, false,
					"nothing is reserved: the container starts at once whatever the daemon's machine has free")
			}
		}
	}
	if len(spec.ImagePullSecrets) > 0 {
		add("spec.template.spec.imagePullSecrets", backends.Approximated, false,
			"not used: images are pulled without credentials; a private image must be on the daemon already (docker pull it; imagePullPolicy IfNotPresent)")
		done["spec.template.spec.imagePullSecrets"] = true
	}
	return func(path string) bool { return done[path] }
}

// setFields lists the JSON names of the fields set in v (a struct).
func setFields(v any) []string {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
