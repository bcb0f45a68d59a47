# Entry points: `make` builds the library, `make test` runs every test, `make bench` measures.
SO := $(CURDIR)/target/release/libmcp_env_shim.so
export SHIM := $(SO)

.PHONY: all build demo test unit c-tests integration bench lint FORCE

all: build

build:
	cargo build --release --workspace

demo: build
	bash scripts/demo.sh

test: build unit c-tests integration

unit:
	cargo test --release --workspace

c-tests: build
	$(MAKE) -C c-tests check SHIM=$(SO)

integration: build
	bash integration/run.sh

bench: build
	bash bench/run.sh

lint:
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings
