# Real Nomad agent for batchctl's e2e tests (included by the Makefile).
#
# Nomad is built from source at the version pinned in tools/nomad/go.mod (a
# separate module, so it never enters batchctl's go.mod) into .cache/nomad.
# Nomad >= 1.7 is BUSL-1.1: we only run it as a local test server. Never ship,
# package or redistribute this binary, and keep it out of releases.
#
# Cold build ~7 min of 2 cores and ~3.2 GB RSS; done once, when missing.

GO            ?= go
NOMAD_VERSION := $(shell awk '$$1 == "github.com/hashicorp/nomad" { print $$2 }' tools/nomad/go.mod)
NOMAD_BIN     := $(CURDIR)/.cache/nomad/bin
NOMAD         := $(NOMAD_BIN)/nomad
NOMAD_RUN     := $(CURDIR)/.cache/nomad/run
# NOMAD_MODE=persistent: server + client agents with on-disk state, so that
# jobs and outcomes survive an agent restart (-dev keeps state in memory).
NOMAD_MODE    ?= dev
# Prefix for test commands that need the agent (tests skip without it), in a
# recipe that has $(NOMAD) as a prerequisite.
NOMAD_TEST_ENV := BATCHCTL_NOMAD_BIN=$(NOMAD)

.PHONY: nomad-tools nomad-up nomad-down nomad-e2e

nomad-tools: $(NOMAD)

# The versioned file is built only when missing; `nomad` points at it, so
# bumping tools/nomad/go.mod rebuilds and a warm run takes no time.
$(NOMAD): $(NOMAD_BIN)/nomad-$(NOMAD_VERSION)
	ln -sfn nomad-$(NOMAD_VERSION) $@

$(NOMAD_BIN)/nomad-$(NOMAD_VERSION):
	@mkdir -p $(NOMAD_BIN)
	@echo "building Nomad $(NOMAD_VERSION) from source (once; ~7 min, ~3.2 GB RAM)"
	cd tools/nomad && GOWORK=off $(GO) build -o $@.tmp github.com/hashicorp/nomad
	mv $@.tmp $@

# Prints `export NOMAD_ADDR=...` on stdout: eval "$(make -s nomad-up)".
nomad-up: $(NOMAD)
	@$(GO) run ./e2e/cmd/nomad-up -bin $(NOMAD) -dir $(NOMAD_RUN) $(if $(filter persistent,$(NOMAD_MODE)),-persistent)

# Stops jobs, GCs allocations, stops the recorded PIDs, removes state/ only
# if nothing is mounted under it; logs stay in $(NOMAD_RUN).
nomad-down:
	@$(GO) run ./e2e/cmd/nomad-up -down -dir $(NOMAD_RUN)

# The harness's own test: real agents, jobs, logs, restarts, clean stops.
nomad-e2e: $(NOMAD)
	$(NOMAD_TEST_ENV) $(GO) test -count=1 -v ./e2e/nomadagent/
