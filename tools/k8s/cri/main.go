// Command cri is the e2e harness's CRI client (the part of crictl it needs),
// built from this module's pinned cri-api:
//
//	cri -endpoint unix:///path/containerd.sock ps      running containers: NAMESPACE/POD/CONTAINER ID
//	cri -endpoint unix:///path/containerd.sock reset   stop and remove every pod sandbox
//
// reset is what the kubelet does when pods go away: containers are killed,
// the pod network is torn down through CNI (network namespace and veth
// removed), the sandbox's mounts are released and its state deleted. The
// harness runs it after stopping the kubelet, so a node leaves nothing
// behind on the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI socket, unix:///path")
	timeout := flag.Duration("timeout", time.Minute, "overall time limit")
	flag.Parse()
	if *endpoint == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: cri -endpoint unix:///path ps|reset")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	switch flag.Arg(0) {
	case "ps":
		err = ps(ctx, rt)
	case "reset":
		err = reset(ctx, rt)
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cri:", err)
	os.Exit(1)
}

func ps(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
	resp, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err != nil {
		return err
	}
	var lines []string
	for _, c := range resp.Containers {
		l := c.Labels
		lines = append(lines, fmt.Sprintf("%s/%s/%s %s", l["io.kubernetes.pod.namespace"], l["io.kubernetes.pod.name"], l["io.kubernetes.container.name"], c.Id))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	return nil
}

func reset(ctx context.Context, rt runtimeapi.RuntimeServiceClient) error {
	resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range resp.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop sandbox %s (%s/%s): %w", s.Id, s.Metadata.GetNamespace(), s.Metadata.GetName(), err))
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox %s (%s/%s): %w", s.Id, s.Metadata.GetNamespace(), s.Metadata.GetName(), err))
		}
	}
	// Containers outside any sandbox should not exist; remove them anyway.
	cs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, c := range cs.Containers {
		_, _ = rt.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: c.Id})
		if _, err := rt.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: c.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.Id, err))
		}
	}
	if len(resp.Items) > 0 {
		fmt.Printf("removed %d pod sandboxes\n", len(resp.Items))
	}
	return errors.Join(errs...)
}
