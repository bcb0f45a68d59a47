# Entry points: `make` builds the library, `make test` runs every test, `make bench` measures.
SO := $(CURDIR)/target/release/libmcp_env_shim.so
export SHIM := $(SO)
PREFIX ?= /usr/local
# make install CONFIG=path also installs that file as $(DESTDIR)/etc/mcp-env-shim/config.json.

.PHONY: all build demo test unit c-tests preload-tests integration bench peer lint install strace

all: build

build:
	cargo build --release --workspace

demo: build
	bash scripts/demo.sh

test: build lint unit c-tests preload-tests integration peer

unit:
	cargo test --release --workspace

# c-tests (healread.sh, layout.py) and preload-tests watch system calls with strace: installed
# here on a fresh machine (as root, with apt-get); without it those tests fail and say why.
strace:
	@command -v strace >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  echo "installing strace (apt-get)" && apt-get install -y --no-install-recommends strace >/dev/null; } || true

c-tests: build strace
	$(MAKE) -C c-tests check SHIM=$(SO)

# /etc/ld.so.preload for real, in private mount namespaces (root, or unprivileged user namespaces).
preload-tests: build strace
	$(MAKE) -C preload-tests check SHIM=$(SO)

integration: build
	bash integration/run.sh

# What the shim costs (a few minutes; a report: exits 0 when a target is missed). Each instruction
# row is checked against bench/baseline.json; refresh it with: python3 bench/bench.py --write-baseline
bench: build
	python3 -m unittest discover -s bench -p "test_*.py" -q
	python3 bench/bench.py --shim $(SO)

# CPython's and Node's own process tests with and without the shim (modes mcp and all); fails on any
# difference in a test's outcome. About 6 minutes; downloads Node's sources once (peer/.cache).
peer: build
	python3 -m unittest discover -s peer -p "test_*.py" -q
	python3 peer/peer.py --shim $(SO)

lint:
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings

install: build
	install -D -m 0755 target/release/libmcp_env_shim.so $(DESTDIR)$(PREFIX)/lib/libmcp_env_shim.so
	install -D -m 0755 target/release/mcp-env-shim $(DESTDIR)$(PREFIX)/bin/mcp-env-shim
	$(if $(CONFIG),install -D -m 0644 $(CONFIG) $(DESTDIR)/etc/mcp-env-shim/config.json)
