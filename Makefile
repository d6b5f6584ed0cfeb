# batchctl — build, test, benchmark, release checks.
# Tools beyond Go, git and make are installed by these targets, pinned, under .cache/.

GO        ?= go
BIN       := bin/batchctl
CACHE     := $(CURDIR)/.cache
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
GORELEASER_VERSION := v2.17.0
GORELEASER := $(CACHE)/bin/goreleaser-$(GORELEASER_VERSION)

.PHONY: all build test unit vet fmt-check bench release-check clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/batchctl

# The README's test command: static checks, unit tests, the conformance suite
# on the local backend and the testscript scenarios.
test: vet fmt-check
	$(GO) test -count=1 ./...

unit:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Side-by-side measurements against kubectl, xargs and GNU parallel (installed
# from Debian's packages when missing). Prints ratios; asserts nothing.
bench: build
	@command -v parallel >/dev/null || (apt-get update -qq && apt-get install -y -qq parallel >/dev/null) || echo "bench: could not install GNU parallel"
	$(GO) run ./bench -batchctl $(BIN)

# Validates .goreleaser.yaml with a pinned GoReleaser, then cross-builds every
# target once (a snapshot, nothing published) to prove they all compile.
release-check: $(GORELEASER)
	$(GORELEASER) check
	$(GORELEASER) build --snapshot --clean --timeout 20m

$(GORELEASER):
	mkdir -p $(CACHE)/bin
	GOBIN=$(CACHE)/gobin $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)
	mv $(CACHE)/gobin/goreleaser $@

clean:
	rm -rf bin dist

# Real-platform harnesses (Kubernetes control plane, Nomad agent) bring their
# own targets: k8s-up/k8s-down, nomad-up/nomad-down. Included last so that
# `all` stays the default goal.
-include e2e/*.mk
