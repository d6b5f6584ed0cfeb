# batchctl — build, test, benchmark, release checks.
# Tools beyond Go, git and make are installed by these targets, pinned, under .cache/.

GO        ?= go
BIN       := bin/batchctl
CACHE     := $(CURDIR)/.cache
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
GORELEASER_VERSION := v2.15.4
GORELEASER := $(CACHE)/bin/goreleaser-$(GORELEASER_VERSION)

.DEFAULT_GOAL := all

# Real platforms for the k8s and nomad backends' tests, built from source
# (pinned, cached under .cache/) and started by the tests themselves:
# targets k8s-tools, k8s-up/k8s-down, nomad-tools, nomad-up/nomad-down.
include e2e/k8s.mk e2e/nomad.mk
include e2e/docker.mk

.PHONY: all build test unit vet fmt-check fuzz bench release-check clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/batchctl

# The README's test command: static checks, unit tests, the conformance suite
# on every backend (local; k8s against a real kube-apiserver and Job
# controller; nomad against a real agent) and the testscript scenarios.
# The first run builds the control plane and Nomad (~12 min cold).
test: vet fmt-check $(K8S_TOOLS) $(NOMAD) docker-tools
	$(K8S_TEST_ENV) $(NOMAD_TEST_ENV) $(DOCKER_TEST_ENV) $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=5s

# Each fuzz target of the manifest reader for FUZZTIME (seeds in
# jobspec/testdata/fuzz; plain go test runs them too).
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) sh jobspec/fuzz.sh $(FUZZTIME)

# The quick loop: everything but the real platforms (their tests skip).
unit:
	$(GO) test ./...

# Also for the other systems releases are built for: the CLI and backends
# build everywhere; the test platforms are Linux (Kubernetes) or Unix only.
vet:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Side-by-side measurements against kubectl, xargs and GNU parallel (installed
# from Debian's packages when missing), and on the real control plane and
# Nomad agent. Prints ratios; asserts nothing.
bench: build $(K8S_TOOLS) $(NOMAD) docker-tools
	@command -v parallel >/dev/null || (apt-get update -qq && apt-get install -y -qq parallel >/dev/null) || echo "bench: could not install GNU parallel"
	$(K8S_TEST_ENV) $(NOMAD_TEST_ENV) $(DOCKER_TEST_ENV) $(GO) run ./bench -batchctl $(BIN)

# Validates .goreleaser.yaml with a pinned GoReleaser, then builds a snapshot
# release (every target cross-built and archived, nothing published) and
# lists the linux/amd64 archive, which must hold the completion scripts and
# man pages.
RELEASE_ARCHIVE_FILES := batchctl README.md LICENSE completions/batchctl.bash completions/batchctl.zsh \
	completions/batchctl.fish manpages/batchctl.1 manpages/batchctl-submit.1
release-check: $(GORELEASER)
	$(GORELEASER) check
	$(GORELEASER) release --snapshot --clean --timeout 20m
	@archive=$$(ls dist/batchctl_*_linux_amd64.tar.gz) && echo "$$archive:" && tar -tvzf "$$archive" && \
	for f in $(RELEASE_ARCHIVE_FILES); do \
		tar -tzf "$$archive" | grep -qx "$$f" || { echo "release-check: $$f is missing from $$archive"; exit 1; }; \
	done

$(GORELEASER):
	mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/gobin $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	mv $(CACHE)/gobin/goreleaser $@

clean:
	rm -rf bin dist

