# Real Kubernetes control plane for batchctl's e2e tests (included by the
# Makefile): etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kwok as a simulated kubelet, all on 127.0.0.1 (see e2e/kube).
#
# The binaries are built from the versions pinned in tools/k8s/go.mod (a
# separate module, kept out of batchctl's go.mod) into .cache/k8s/bin, only
# when missing or when the pins change. Cold build ~4.5 min of 2 idle cores,
# ~2.1 GB peak RSS; warm: nothing to do.

GO          ?= go
K8S_BIN     := $(CURDIR)/.cache/k8s/bin
K8S_RUN     := $(CURDIR)/.cache/k8s/run
K8S_NAMES   := etcd kube-apiserver kube-controller-manager kube-scheduler kwok
K8S_TOOLS   := $(addprefix $(K8S_BIN)/,$(K8S_NAMES))
# Prefix for test commands that need the control plane (tests skip without
# it), in a recipe that has k8s-tools (or $(K8S_TOOLS)) as a prerequisite.
K8S_TEST_ENV := BATCHCTL_K8S_BIN=$(K8S_BIN)

K8S_PKG_etcd                    := go.etcd.io/etcd/server/v3
K8S_PKG_kube-apiserver          := k8s.io/kubernetes/cmd/kube-apiserver
K8S_PKG_kube-controller-manager := k8s.io/kubernetes/cmd/kube-controller-manager
K8S_PKG_kube-scheduler          := k8s.io/kubernetes/cmd/kube-scheduler
K8S_PKG_kwok                    := sigs.k8s.io/kwok/cmd/kwok
# Stamp the real version (else the API server reports v0.0.0-master).
K8S_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2 }' tools/k8s/go.mod)
K8S_VPKG    := k8s.io/component-base/version
K8S_LDFLAGS := -s -w -X $(K8S_VPKG).gitVersion=$(K8S_VERSION) -X $(K8S_VPKG).gitTreeState=clean \
	-X $(K8S_VPKG).gitMajor=$(word 2,$(subst ., ,$(subst v,v ,$(K8S_VERSION)))) \
	-X $(K8S_VPKG).gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION)))
# A new stamp name whenever the pins change: it is then newer than every
# binary, so all are rebuilt; otherwise binaries are built only when missing.
K8S_PINS    := $(shell cat tools/k8s/go.mod tools/k8s/go.sum | cksum | cut -d' ' -f1)
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
$(K8S_TOOLS):
	@echo "building $(notdir $@) from tools/k8s (once)"
	cd tools/k8s && GOWORK=off $(GO) build -trimpath -ldflags '$(K8S_LDFLAGS)' -o $@.tmp $(K8S_PKG_$(notdir $@))
	mv $@.tmp $@

# Starts the control plane in the background (state, logs and kubeconfig in
# $(K8S_RUN)) and prints `export KUBECONFIG=...`: eval "$$(make -s k8s-up)".
k8s-up: $(K8S_TOOLS)
	@GOWORK=off $(GO) run ./e2e/cmd/k8s-up -bin $(K8S_BIN) -dir $(K8S_RUN)

# Stops exactly the processes k8s-up recorded; logs stay in $(K8S_RUN).
k8s-down:
	@GOWORK=off $(GO) run ./e2e/cmd/k8s-up -down -dir $(K8S_RUN)

# The harness's own test: jobs complete and fail, logs, API server restart.
k8s-e2e: $(K8S_TOOLS)
	$(K8S_TEST_ENV) $(GO) test -count=1 -v ./e2e/kube/
