# secure-flink — `make test` sets up everything the tests need and runs them all;
# `make render STACK=dev OUT=build/dev [SHOW_SECRETS=1]` runs `pulumi up` of a stack on the built engine, rendering
# YAML (its state stays in OUT, so the next render prints the diff); `make scan STACK=dev` scans what it wrote.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLINK_VERSION := 2.2.1
FLINK_DIR := .cache/flink-$(FLINK_VERSION)
export FLINK_HOME := $(abspath $(FLINK_DIR))/pyflink
STACK ?= dev
OUT ?= build/$(STACK)
PYTEST_ARGS ?=
# The Pulumi engine (engine/README.md): built into a directory named by the hash of what builds it, unless
# PULUMI_ENGINE_BIN names one you already have.
CONTROL_PLANE_MODULES := engine/kubernetes-server engine/etcd
ENGINE_INPUTS := $(sort $(shell find engine $(CONTROL_PLANE_MODULES:%=-path % -prune -o) \
	\( -name go.mod -o -name go.sum -o -name '*.go' \) -print)) \
	scripts/build-engine.sh scripts/embed_kubernetes_schema.py
ENGINE_DIR := .cache/engine-$(shell cat $(ENGINE_INPUTS) | sha256sum | cut -c1-12)
ifdef PULUMI_ENGINE_BIN
ENGINE_STAMP :=
else
ENGINE_STAMP := $(ENGINE_DIR)/.built
export PULUMI_ENGINE_BIN := $(abspath $(ENGINE_DIR))/bin
endif
# The Kubernetes control plane the cluster tests start on 127.0.0.1 (kube-apiserver, kube-controller-manager,
# etcd), the same way, unless KUBE_CONTROL_PLANE_BIN names a directory that has them.
CONTROL_PLANE_INPUTS := $(sort $(shell find $(CONTROL_PLANE_MODULES) -name go.mod -o -name go.sum)) \
	scripts/build-control-plane.sh
CONTROL_PLANE_DIR := .cache/control-plane-$(shell cat $(CONTROL_PLANE_INPUTS) | sha256sum | cut -c1-12)
ifdef KUBE_CONTROL_PLANE_BIN
CONTROL_PLANE_STAMP :=
else
CONTROL_PLANE_STAMP := $(CONTROL_PLANE_DIR)/.built
export KUBE_CONTROL_PLANE_BIN := $(abspath $(CONTROL_PLANE_DIR))/bin
endif
# Dex and oauth2-proxy, the OIDC provider and login proxy the single-sign-on tests run on 127.0.0.1
# (idp/README.md), the same way, unless IDP_BIN names a directory that has them.
IDP_INPUTS := $(sort $(shell find idp \( -name go.mod -o -name go.sum -o -name '*.go' \) -print)) scripts/build-idp.sh
IDP_DIR := .cache/idp-$(shell cat $(IDP_INPUTS) | sha256sum | cut -c1-12)
ifdef IDP_BIN
IDP_STAMP :=
else
IDP_STAMP := $(IDP_DIR)/.built
export IDP_BIN := $(abspath $(IDP_DIR))/bin
endif

.PHONY: test typecheck render scan setup system-deps flink sslyze checkov nca engine benchmark clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Flink from PyPI, without its Python dependencies: the distribution (bin/, lib/, conf/) is all the tests run.
$(FLINK_DIR)/.installed: $(VENV)/.installed
	$(PY) -m pip install --quiet --no-deps --target $(FLINK_DIR) \
		apache-flink==$(FLINK_VERSION) apache-flink-libraries==$(FLINK_VERSION)
	chmod +x $(FLINK_DIR)/pyflink/bin/*
	touch $@

# Checkers that pin their own dependency trees (sslyze an older cryptography than the program's) get a
# virtualenv each, .cache/<tool>: sslyze grades the proxy's TLS, checkov scans the rendered manifests,
# IBM's network-config-analyzer maps who may reach whom under the NetworkPolicies.
TOOLS := sslyze checkov nca
PACKAGE_sslyze := sslyze==6.3.1
PACKAGE_checkov := checkov==3.3.30
PACKAGE_nca := network-config-analyzer==2.1.0

.cache/%/.installed:
	$(PYTHON) -m venv .cache/$*
	.cache/$*/bin/pip install --quiet $(PACKAGE_$*)
	touch $@

$(TOOLS): %: .cache/%/.installed

# Scan a rendered stack offline: no download of guidelines, no update check.
scan: render checkov
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true .cache/checkov/bin/checkov -f $(OUT)/manifests.yaml \
		--framework kubernetes --skip-download --compact

# Measured on 2 cores: cold (empty Go caches, 1.8 GB of modules downloaded) about 23 minutes; warm (Go caches
# kept, as for a fresh clone on the same machine) about 1 minute.
$(ENGINE_DIR)/.built: $(ENGINE_INPUTS)
	bash scripts/build-engine.sh $(ENGINE_DIR)

# Measured on 2 cores, cold, niced beside a test run: etcd 140 s, kube-apiserver 924 s, kube-controller-manager
# 207 s (21 minutes); warm, a relink.
$(CONTROL_PLANE_DIR)/.built: $(CONTROL_PLANE_INPUTS)
	bash scripts/build-control-plane.sh $(CONTROL_PLANE_DIR)

# Measured on 2 cores, niced beside other builds and tests (load average 7): cold (modules in Go's cache, an empty
# build cache) dex 345 s, oauth2-proxy 225 s (9.5 minutes); warm (Go's caches kept, a fresh .cache/idp-*) 11 s.
.PHONY: idp
idp: $(IDP_STAMP)

$(IDP_DIR)/.built: $(IDP_INPUTS)
	bash scripts/build-idp.sh $(IDP_DIR)

engine: $(ENGINE_STAMP) $(CONTROL_PLANE_STAMP) $(IDP_STAMP)

system-deps:
	bash scripts/install-system-deps.sh

flink: $(FLINK_DIR)/.installed

# playwright-core, which drives Debian's chromium in the browser tests (tests/browser/drive.mjs), as
# package-lock.json pins it; --ignore-scripts: no install script runs and no browser is downloaded.
BROWSER_DIR := tests/browser
.PHONY: browser
browser: $(BROWSER_DIR)/node_modules/.installed

$(BROWSER_DIR)/node_modules/.installed: $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed system-deps flink $(TOOLS) engine browser

# Lint, format and types (mypy --strict on the package, pyproject.toml) first: they fail in seconds, before the
# engine build and the 20-minute suite.
typecheck: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: typecheck setup
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: test discovery is broken" >&2; exit 1; fi; \
	exit $$status

# Bounded load test on 127.0.0.1 (about a minute): direct Flink REST vs. the proxy, per htpasswd scheme.
benchmark: setup
	$(PY) -m benchmarks.proxy_throughput

render: $(VENV)/.installed $(ENGINE_STAMP)
	$(PY) -m local_stack.render --stack $(STACK) --out $(OUT) $(if $(SHOW_SECRETS),--show-secrets,)

clean:
	rm -rf build .pytest_cache
