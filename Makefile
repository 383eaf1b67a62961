# secure-flink — `make test` sets up everything the tests need and runs them all;
# `make render STACK=dev OUT=build/dev [SHOW_SECRETS=1]` renders a stack offline; `make scan STACK=dev` scans it.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLINK_VERSION := 2.2.1
FLINK_DIR := .cache/flink-$(FLINK_VERSION)
export FLINK_HOME := $(abspath $(FLINK_DIR))/pyflink
STACK ?= dev
OUT ?= build/$(STACK)
PYTEST_ARGS ?=

.PHONY: test render scan setup system-deps flink sslyze checkov nca benchmark clean

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

# sslyze pins an older cryptography than the program uses, so it gets a virtualenv of its own.
SSLYZE_DIR := .cache/sslyze
$(SSLYZE_DIR)/.installed:
	$(PYTHON) -m venv $(SSLYZE_DIR)
	$(SSLYZE_DIR)/bin/pip install --quiet sslyze==6.3.1
	touch $@

sslyze: $(SSLYZE_DIR)/.installed

# checkov, the Kubernetes misconfiguration scanner, pins its own dependency tree: a virtualenv of its own too.
CHECKOV_DIR := .cache/checkov
$(CHECKOV_DIR)/.installed:
	$(PYTHON) -m venv $(CHECKOV_DIR)
	$(CHECKOV_DIR)/bin/pip install --quiet checkov==3.3.30
	touch $@

checkov: $(CHECKOV_DIR)/.installed

# IBM's network-config-analyzer computes who may reach whom under a set of NetworkPolicies.
NCA_DIR := .cache/nca
$(NCA_DIR)/.installed:
	$(PYTHON) -m venv $(NCA_DIR)
	$(NCA_DIR)/bin/pip install --quiet network-config-analyzer==2.1.0
	touch $@

nca: $(NCA_DIR)/.installed

# Scan a rendered stack offline: no download of guidelines, no update check.
scan: render checkov
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_DIR)/bin/checkov -d $(OUT) \
		--framework kubernetes --skip-download --compact

system-deps:
	bash scripts/install-system-deps.sh

flink: $(FLINK_DIR)/.installed

setup: $(VENV)/.installed system-deps flink sslyze checkov nca

test: setup
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: test discovery is broken" >&2; exit 1; fi; \
	exit $$status

# Bounded load test on 127.0.0.1 (about a minute): direct Flink REST vs. the proxy, per htpasswd scheme.
benchmark: setup
	$(PY) -m benchmarks.proxy_throughput

render: $(VENV)/.installed
	$(PY) -m offline.render --stack $(STACK) --out $(OUT) $(if $(SHOW_SECRETS),--show-secrets,)

clean:
	rm -rf build .pytest_cache
