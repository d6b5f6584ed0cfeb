# Private Docker daemon for batchctl's e2e tests (included by the Makefile):
# the nomad backend's docker driver runs its test containers there, never on
# the machine's own Docker. See e2e/dockerd.
#
# Debian's docker.io (dockerd 20.10, API 1.41) is installed with apt-get when
# missing. Test images are imported from busybox-static's binary: no registry.
# A daemon's state is all in one dir under .cache/docker: run/ for the one
# make docker-up starts, test-N/ for a test run's own (data-root, kept so
# images stay warm; exec-root, socket, pidfile, log).

GO              ?= go
DOCKER_CACHE    := $(CURDIR)/.cache/docker
DOCKERD         := /usr/sbin/dockerd
DOCKER_BUSYBOX  := $(DOCKER_CACHE)/busybox/bin/busybox
DOCKER_UP       := $(DOCKER_CACHE)/bin/docker-up
DOCKER_TOOLS    := $(DOCKERD) $(DOCKER_BUSYBOX) $(DOCKER_UP)
DOCKER_UP_FLAGS := -dir $(DOCKER_CACHE) -dockerd $(DOCKERD) -busybox $(DOCKER_BUSYBOX)
# Prefix for a test command, in a recipe that has docker-tools (or
# $(DOCKER_TOOLS)) as a prerequisite. Not only variables: a wrapper that
# uses make docker-up's daemon if it runs, else starts one of its own, runs
# the command with DOCKER_HOST set, stops its daemon however the command
# ended (dockerd also dies with it), and exits with the command's status.
DOCKER_TEST_ENV := $(DOCKER_UP) $(DOCKER_UP_FLAGS) --

.PHONY: docker-tools docker-up docker-down docker-e2e

docker-tools: $(DOCKER_TOOLS)

# Docker's own service must not start: tests run their own daemons. Where
# no policy-rc.d forbids that already, one does during the install.
$(DOCKERD):
	@echo "installing Debian's docker.io with apt-get (once)" >&2
	@set -e; p=/usr/sbin/policy-rc.d; own=; \
	if [ ! -e $$p ]; then printf '#!/bin/sh\nexit 101\n' >$$p; chmod +x $$p; own=$$p; fi; \
	trap 'rm -f $$own' EXIT; export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -qq --no-install-recommends docker.io >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends docker.io >/dev/null; }

# Only the static binary is needed, so the package is unpacked, not installed.
$(DOCKER_BUSYBOX):
	@rm -rf $(DOCKER_CACHE)/busybox.tmp && mkdir -p $(DOCKER_CACHE)/busybox.tmp
	cd $(DOCKER_CACHE)/busybox.tmp && { apt-get download -qq busybox-static || \
		{ apt-get update -qq && apt-get download -qq busybox-static; }; } && \
		dpkg -x busybox-static_*.deb root
	mkdir -p $(dir $@) && mv $(DOCKER_CACHE)/busybox.tmp/root/bin/busybox $@
	rm -rf $(DOCKER_CACHE)/busybox.tmp

$(DOCKER_UP): $(wildcard e2e/dockerd/*.go e2e/dockerd/cmd/docker-up/*.go) go.mod
	$(GO) build -o $@ ./e2e/dockerd/cmd/docker-up

# Prints `export DOCKER_HOST=...` on stdout: eval "$(make -s docker-up)".
docker-up: $(DOCKER_TOOLS)
	@$(DOCKER_UP) $(DOCKER_UP_FLAGS)

# Removes every container and stops the daemon; images and log stay.
docker-down:
	@$(GO) run ./e2e/dockerd/cmd/docker-up -down -dir $(DOCKER_CACHE)

# The harness's own tests, and the moby client against the daemon.
docker-e2e: $(DOCKER_TOOLS)
	$(DOCKER_TEST_ENV) $(GO) test -count=1 -v ./e2e/dockerd/
