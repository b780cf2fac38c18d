# Two commands do everything: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/mdw-target
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
OS_ARCH := $(shell uname -s | tr A-Z a-z)_$(shell uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
# Terraform's implied local mirror: found by `terraform init` with no CLI configuration.
PLUGIN_DIR := $(HOME)/.terraform.d/plugins/registry.terraform.io/mdw/mdw/$(VERSION)/$(OS_ARCH)

.PHONY: build install test lint tools bench demo

BINDIR ?= $(HOME)/.local/bin

## build: release binaries of the provider and the compiler
build:
	cargo build --release -p terraform-provider-mdw -p mdwc

## install: the provider where `terraform init` finds it for `source = "mdw/mdw"`, mdwc into BINDIR
install: build
	mkdir -p $(PLUGIN_DIR) $(BINDIR)
	install -m 0755 $(CARGO_TARGET_DIR)/release/terraform-provider-mdw $(PLUGIN_DIR)/terraform-provider-mdw_v$(VERSION)
	install -m 0755 $(CARGO_TARGET_DIR)/release/mdwc $(BINDIR)/mdwc
	@echo "installed terraform-provider-mdw $(VERSION) into $(PLUGIN_DIR) and mdwc into $(BINDIR)"

## tools: moto and dbt in a virtualenv under ~/.cache (used by the tests)
tools:
	@scripts/test-tools.sh >/dev/null

## lint: rustfmt and clippy on every crate (workspace lints, warnings are errors)
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## test: lint, then every test, including the acceptance tests (real terraform + moto)
test: tools lint
	@command -v terraform >/dev/null || { echo "terraform is not on PATH; install Terraform >= 1.11" >&2; exit 1; }
	cargo build -p terraform-provider-mdw -p mdwc
	PATH="$$(scripts/test-tools.sh):$$PATH" cargo test --workspace

## demo: compile examples/retail with mdwc and build it with terraform on the embedded engine
demo:
	@command -v terraform >/dev/null || { echo "terraform is not on PATH; install Terraform >= 1.11" >&2; exit 1; }
	cargo build -p terraform-provider-mdw -p mdwc
	scripts/demo.sh

## bench: every benchmark on the release build — provider plan overhead, RSS and start time;
## Athena engine statements and latency per model; mdw vs dbt-duckdb at 1M order lines; 1,000 and
## 5,000 generated models against Terraform's own floor (terraform_data); a snapshot of 1M rows;
## a microbatch model of 1M events over 30 days; a seed of 1M rows
bench: build
	bench/provider-plan.sh
	bench/athena-latency.sh
	bench/dbt-duckdb.sh
	bench/scale.sh
	bench/snapshot.sh
	bench/microbatch.sh
	bench/seed.sh
