//go:build linux

package scriptkubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const (
	leaseNamespace = "kube-node-lease"
	// As the kubelet: a 40 s lease renewed every quarter of it, well inside
	// the node-lifecycle controller's grace period.
	leaseDuration = 40 * time.Second
	leaseRenew    = 10 * time.Second
)

// register creates the node (or adopts one left by an earlier run), marks it
// Ready and takes its lease.
func (k *Kubelet) register(ctx context.Context) error {
	name := k.opts.NodeName
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "scriptkubelet",
		}},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: Taint, Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
	}
	if err := k.c.Create(ctx, "", "nodes", node, nil); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("scriptkubelet: create node: %w", err)
	}
	if err := k.patchNodeStatus(ctx); err != nil {
		return err
	}
	if err := k.renewLease(ctx); err != nil {
		return err
	}
	return k.waitNodeReady(ctx)
}

func (k *Kubelet) patchNodeStatus(ctx context.Context) error {
	now := metav1.Now()
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	huge := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("1k"), corev1.ResourceMemory: resource.MustParse("1Ti"), corev1.ResourcePods: resource.MustParse("1M"),
	}
	status := corev1.NodeStatus{
		Capacity:    huge,
		Allocatable: huge,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "scripted kubelet is posting ready status"),
		},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: k.opts.NodeName}},
		NodeInfo: corev1.NodeSystemInfo{
			Architecture: "amd64", OperatingSystem: "linux", KubeletVersion: "v1.36.3-scripted",
			ContainerRuntimeVersion: "scripted://1", KernelVersion: "scripted", OSImage: "scripted",
		},
	}
	b, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	if err := k.c.Patch(ctx, "", "nodes", k.opts.NodeName, "status", types.StrategicMergePatchType, b); err != nil {
		return fmt.Errorf("scriptkubelet: node status: %w", err)
	}
	return nil
}

// renewLease creates or renews the node's lease: the node-lifecycle
// controller's evidence that the kubelet is alive.
func (k *Kubelet) renewLease(ctx context.Context) error {
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Namespace: leaseNamespace},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(k.opts.NodeName),
			LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)),
			RenewTime:            &now,
		},
	}
	err := k.c.Create(ctx, leaseNamespace, "leases", lease, nil)
	if apierrors.IsAlreadyExists(err) {
		b, _ := json.Marshal(map[string]any{"spec": lease.Spec})
		err = k.c.Patch(ctx, leaseNamespace, "leases", k.opts.NodeName, "", types.MergePatchType, b)
	}
	if err != nil {
		return fmt.Errorf("scriptkubelet: node lease: %w", err)
	}
	return nil
}

func (k *Kubelet) heartbeat() {
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(k.ctx, leaseRenew)
			if err := k.renewLease(ctx); err != nil && k.ctx.Err() == nil {
				k.opts.Logf("%v", err)
			}
			cancel()
		}
	}
}

// waitNodeReady watches the node until it is Ready and the node-lifecycle
// controller has lifted its not-ready taint (pods bound to a node tainted
// NoExecute would be evicted).
func (k *Kubelet) waitNodeReady(ctx context.Context) error {
	lw := k.c.ListWatch("", "nodes", func() runtime.Object { return &corev1.NodeList{} }, func(o *metav1.ListOptions) {
		o.FieldSelector = "metadata.name=" + k.opts.NodeName
	})
	ready := func(n *corev1.Node) bool {
		for _, t := range n.Spec.Taints {
			if t.Key == "node.kubernetes.io/not-ready" || t.Key == "node.kubernetes.io/unreachable" {
				return false
			}
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := WaitFor(ctx, lw, &corev1.Node{}, func(o runtime.Object) bool { return ready(o.(*corev1.Node)) })
	if err != nil {
		return fmt.Errorf("scriptkubelet: node %s never became Ready and untainted: %w", k.opts.NodeName, err)
	}
	return nil
}
