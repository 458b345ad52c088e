# subtune — build, test and run on a fresh Debian/Ubuntu machine.
# Every target first makes sure the system packages it needs are installed.

GO ?= go
BIN := bin/subtune

.PHONY: deps build test test-purego bench clean

# deps installs OpenBLAS (the GEMM behind every dense layer) when missing.
deps:
	@if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] && [ ! -e /usr/include/openblas/cblas.h ]; then \
		echo "installing libopenblas-dev"; \
		SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenblas-dev >/dev/null; \
	fi

build: deps
	$(GO) build -o $(BIN) ./cmd/subtune

test: deps
	$(GO) test ./...
	$(GO) test -tags purego ./blas ./nn ./model

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 5x ./blas ./model

clean:
	rm -rf bin
