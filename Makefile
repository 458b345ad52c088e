# subtune — build, test and run on a fresh Debian/Ubuntu machine.
# Every target first makes sure the system packages it needs are installed.

GO ?= go
BIN := bin/subtune

.PHONY: deps test-deps build test bench reproduce clean

# deps installs OpenBLAS (the GEMM behind every dense layer) when missing.
deps:
	@if ! ldconfig -p | grep -q 'libopenblas\.so '; then \
		echo "installing libopenblas-dev"; \
		SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenblas-dev >/dev/null; \
	fi

# test-deps adds Slurm and munge: the reproduce tests start a real
# single-node cluster (they skip without it).
test-deps: deps
	@if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then \
		echo "installing slurm-wlm munge"; \
		SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq slurm-wlm munge >/dev/null; \
	fi

build: deps
	$(GO) build -o $(BIN) ./cmd/subtune

test: test-deps
	$(GO) test ./...
	$(GO) test -tags purego ./blas ./nn ./model

# reproduce runs the paper's pipeline on the shipped model (quick profile);
# ARGS passes more flags, e.g. make reproduce ARGS="--tasks sst2,stsb,cola".
reproduce: build
	./$(BIN) reproduce $(ARGS)

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 5x ./blas ./model

clean:
	rm -rf bin
