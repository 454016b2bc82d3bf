# smolvlm — top-level entry points. Everything a fresh Debian 12 machine needs, as root:
#   make demo   install dependencies, build, run the demo
#   make test   install dependencies, build, run every test through ctest
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD_DIR ?= build/release
SHARED ?= $(abspath ../shared)
SMOLVLM := $(BUILD_DIR)/smolvlm
DEMO_DIR ?= build/demo

# Debian packages the build and the tests need (installed idempotently by `make deps`).
DEB_PACKAGES := build-essential cmake ninja-build ccache pkg-config \
  nlohmann-json3-dev libcli11-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libicu-dev libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev \
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libcpp-httplib-dev libcurl4-openssl-dev \
  python3 time ffmpeg gnuplot-nox \
  glslc spirv-tools libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers \
  prometheus haproxy nginx-light python3-yaml chromium
FUZZ_PACKAGES := clang lld libclang-rt-14-dev

.PHONY: all deps deps-node deps-fuzz build build-debug test test-debug demo bench fuzz clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (or install:$$missing)"; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi
	@$(MAKE) --no-print-directory deps-node

# The Node clients the server is tested with (ollama-js, openai) and playwright-core (drives Debian's
# chromium through the chat page, cli.web_ui), pinned by tests/node/package-lock.json. Without npm (or
# the registry) cli.node_clients and cli.web_ui skip.
deps-node:
	@if ! command -v npm >/dev/null 2>&1; then echo "make deps: npm not found; cli.node_clients and cli.web_ui will skip"; \
	elif [ tests/node/node_modules/.package-lock.json -nt tests/node/package-lock.json ]; then \
	  echo "make deps: node modules up to date"; \
	else npm ci --prefix tests/node --no-audit --no-fund || echo "make deps: npm ci failed; cli.node_clients and cli.web_ui will skip"; fi

deps-fuzz:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FUZZ_PACKAGES)"

build: deps
	cmake --preset release -G Ninja
	cmake --build --preset release -j $(JOBS)

build-debug: deps
	cmake --preset debug -G Ninja
	cmake --build --preset debug -j $(JOBS)

test: build
	ctest --preset release -j $(JOBS)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-debug: build-debug
	ctest --preset debug -j $(JOBS)

# For now: convert the tiny golden checkpoint, quantize it, and inspect the result.
# From nothing to "SmolVLM2 describes an image": deps, build, pull smolvlm2:256m from the hub
# (HF_ENDPOINT honoured; a plain message with what to do when it cannot be reached), then describe
# an example image drawn by scripts/demo_image.py. tests/cli/demo_offline.sh runs this path offline.
demo: build
	DEMO_DIR=$(DEMO_DIR) SMOLVLM=$(SMOLVLM) bash scripts/demo.sh

bench: build
	@for b in $(BUILD_DIR)/bench_*; do echo "== $$b"; $$b; done

# libFuzzer targets for the GGUF and safetensors parsers (bounded time; not part of `make test`).
FUZZ_SECONDS ?= 60
fuzz: deps deps-fuzz
	cmake --preset fuzz -G Ninja
	cmake --build --preset fuzz -j $(JOBS)
	bash scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build
