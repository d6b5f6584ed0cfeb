# Real Kubernetes control plane for batchctl's e2e tests (included by the
# Makefile): etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# and the nodes that run pods, all on 127.0.0.1 (see e2e/kube):
#   kwok     a simulated kubelet: pods move through phases, nothing executes
#   kubelet  a real node: kubelet + containerd + runc + CNI bridge; pods run
#            in containers from test images imported from local files
#
# The Kubernetes binaries are built from the versions pinned in
# tools/k8s/go.mod (a separate module, kept out of batchctl's go.mod) into
# .cache/k8s/bin, only when missing or when the pins change. Cold build of
# the control plane ~4.5 min of 2 idle cores, ~2.1 GB peak RSS; the kubelet
# adds ~1.5 min, the rest of the node seconds. Warm: nothing to do.
#
# The real node also needs, from Debian: containerd (1.6) and runc, installed
# with apt-get when missing (also what docker.io pulls in); busybox-static
# and containernetworking-plugins, only unpacked into .cache/k8s/bin.

GO          ?= go
K8S_BIN     := $(CURDIR)/.cache/k8s/bin
K8S_RUN     := $(CURDIR)/.cache/k8s/run
K8S_NAMES   := etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubelet cri
K8S_NODE_FILES := $(K8S_BIN)/pause $(K8S_BIN)/busybox $(K8S_BIN)/cni/bridge
K8S_SYSTEM  := /usr/bin/containerd /usr/sbin/runc
K8S_TOOLS   := $(addprefix $(K8S_BIN)/,$(K8S_NAMES)) $(K8S_NODE_FILES) $(K8S_SYSTEM)
# Prefix for test commands that need the control plane (tests skip without
# it), in a recipe that has k8s-tools (or $(K8S_TOOLS)) as a prerequisite.
# Tests start the real node for their pods, with a tainted kwok node beside
# it for the few that ask for simulation (many pods, long durations).
K8S_TEST_ENV := BATCHCTL_K8S_BIN=$(K8S_BIN) BATCHCTL_K8S_NODE=both
# What make k8s-up starts to run pods: kwok, kubelet or both.
NODE        ?= kwok

K8S_PKG_etcd                    := go.etcd.io/etcd/server/v3
K8S_PKG_kube-apiserver          := k8s.io/kubernetes/cmd/kube-apiserver
K8S_PKG_kube-controller-manager := k8s.io/kubernetes/cmd/kube-controller-manager
K8S_PKG_kube-scheduler          := k8s.io/kubernetes/cmd/kube-scheduler
K8S_PKG_kwok                    := sigs.k8s.io/kwok/cmd/kwok
K8S_PKG_kubelet                 := k8s.io/kubernetes/cmd/kubelet
K8S_PKG_cri                     := ./cri
# Stamp the real version (else the API server reports v0.0.0-master).
K8S_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2 }' tools/k8s/go.mod)
K8S_VPKG    := k8s.io/component-base/version
K8S_LDFLAGS := -s -w -X $(K8S_VPKG).gitVersion=$(K8S_VERSION) -X $(K8S_VPKG).gitTreeState=clean \
	-X $(K8S_VPKG).gitMajor=$(word 2,$(subst ., ,$(subst v,v ,$(K8S_VERSION)))) \
	-X $(K8S_VPKG).gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION)))
# A new stamp name whenever the pins change: it is then newer than every
# binary, so all are rebuilt; otherwise binaries are built only when missing.
# The pins are go.mod's requirements and replacements and go.sum: comments
# and the tool list are not pins, so adding a tool builds just that tool.
K8S_PINS    := $(shell sed -e '/^tool (/,/^)/d' -e '/^\/\//d' tools/k8s/go.mod | cat - tools/k8s/go.sum | cksum | cut -d' ' -f1)
K8S_STAMP   := $(K8S_BIN)/.pins-$(K8S_PINS)

.PHONY: k8s-tools k8s-up k8s-down k8s-e2e

k8s-tools: $(K8S_TOOLS)

$(K8S_STAMP):
	@mkdir -p $(K8S_BIN)
	@rm -f $(K8S_BIN)/.pins-*
	@touch $@

# One binary at a time, even under make -j: they share most packages through
# the Go build cache, and parallel builds would only fight over 2 cores.
$(K8S_BIN)/etcd: $(K8S_STAMP)
$(K8S_BIN)/kube-apiserver: $(K8S_STAMP) | $(K8S_BIN)/etcd
$(K8S_BIN)/kube-controller-manager: $(K8S_STAMP) | $(K8S_BIN)/kube-apiserver
$(K8S_BIN)/kube-scheduler: $(K8S_STAMP) | $(K8S_BIN)/kube-controller-manager
$(K8S_BIN)/kwok: $(K8S_STAMP) | $(K8S_BIN)/kube-scheduler
$(K8S_BIN)/kubelet: $(K8S_STAMP) | $(K8S_BIN)/kwok
$(K8S_BIN)/cri: $(K8S_STAMP) tools/k8s/cri/main.go | $(K8S_BIN)/kubelet
$(addprefix $(K8S_BIN)/,$(K8S_NAMES)):
	@echo "building $(notdir $@) from tools/k8s (once)"
	cd tools/k8s && GOWORK=off $(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o $@.tmp $(K8S_PKG_$(notdir $@))
	mv $@.tmp $@

# The sandbox ("pause") process of every real pod: static, so it runs alone
# in its image.
$(K8S_BIN)/pause: e2e/kube/pause/main.go
	@mkdir -p $(K8S_BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@.tmp ./e2e/kube/pause
	mv $@.tmp $@

# Debian packages whose files are only unpacked, never installed.
define k8s-deb-unpack
rm -rf $(K8S_BIN)/.deb.tmp && mkdir -p $(K8S_BIN)/.deb.tmp
cd $(K8S_BIN)/.deb.tmp && { apt-get download -qq $(1) 2>/dev/null || \
	{ apt-get update -qq && apt-get download -qq $(1); }; } && dpkg -x $(1)_*.deb root
endef

# The test image's rootfs: busybox and its applet links (e2e/kube/images.go).
$(K8S_BIN)/busybox:
	$(call k8s-deb-unpack,busybox-static)
	mv $(K8S_BIN)/.deb.tmp/root/bin/busybox $@
	rm -rf $(K8S_BIN)/.deb.tmp

# Pod networking: a bridge with host-local addresses; loopback for lo.
$(K8S_BIN)/cni/bridge:
	$(call k8s-deb-unpack,containernetworking-plugins)
	mkdir -p $(K8S_BIN)/cni.tmp
	cd $(K8S_BIN)/.deb.tmp/root/usr/lib/cni && cp bridge host-local loopback $(K8S_BIN)/cni.tmp/
	rm -rf $(K8S_BIN)/cni && mv $(K8S_BIN)/cni.tmp $(K8S_BIN)/cni
	rm -rf $(K8S_BIN)/.deb.tmp

# The node runs its own containerd (own root, state, socket and config under
# the cluster's directory), never the machine's. Their services must not
# start: where no policy-rc.d forbids that already, one does during the
# install.
$(K8S_SYSTEM):
	@echo "installing Debian's containerd and runc with apt-get (once)" >&2
	@set -e; p=/usr/sbin/policy-rc.d; own=; \
	if [ ! -e $$p ]; then printf '#!/bin/sh\nexit 101\n' >$$p; chmod +x $$p; own=$$p; fi; \
	trap 'rm -f $$own' EXIT; export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -qq --no-install-recommends containerd runc >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends containerd runc >/dev/null; }

# Starts the control plane in the background (state, logs and kubeconfig in
# $(K8S_RUN)) and prints `export KUBECONFIG=...`: eval "$$(make -s k8s-up)".
# NODE=kubelet runs pods for real, NODE=both adds a tainted kwok node.
k8s-up: $(K8S_TOOLS)
	@GOWORK=off $(GO) run ./e2e/cmd/k8s-up -bin $(K8S_BIN) -dir $(K8S_RUN) -node $(NODE)

# Stops exactly the processes k8s-up recorded, and a real node's pods,
# cgroups and bridge; logs stay in $(K8S_RUN).
k8s-down:
	@GOWORK=off $(GO) run ./e2e/cmd/k8s-up -down -dir $(K8S_RUN)

# The harness's own tests: jobs complete and fail, logs, API server restart;
# on the real node: commands run, exit codes, OOMKilled, teardown.
k8s-e2e: $(K8S_TOOLS)
	$(K8S_TEST_ENV) $(GO) test -count=1 -v ./e2e/kube/
