# Entry points: `make` builds the library, `make test` runs every test, `make bench` measures.
SO := $(CURDIR)/target/release/libmcp_env_shim.so
export SHIM := $(SO)
PREFIX ?= /usr/local
# make install CONFIG=path also installs that file as $(DESTDIR)/etc/mcp-env-shim/config.json.

.PHONY: all build demo test unit c-tests preload-tests integration bench lint install

all: build

build:
	cargo build --release --workspace

demo: build
	bash scripts/demo.sh

test: build lint unit c-tests preload-tests integration

unit:
	cargo test --release --workspace

c-tests: build
	$(MAKE) -C c-tests check SHIM=$(SO)

# /etc/ld.so.preload for real, in private mount namespaces (root, or unprivileged user namespaces).
preload-tests: build
	$(MAKE) -C preload-tests check SHIM=$(SO)

integration: build
	bash integration/run.sh

bench: build
	bash bench/run.sh

lint:
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings

install: build
	install -D -m 0755 target/release/libmcp_env_shim.so $(DESTDIR)$(PREFIX)/lib/libmcp_env_shim.so
	install -D -m 0755 target/release/mcp-env-shim $(DESTDIR)$(PREFIX)/bin/mcp-env-shim
	$(if $(CONFIG),install -D -m 0644 $(CONFIG) $(DESTDIR)/etc/mcp-env-shim/config.json)
