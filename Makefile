# subtune — build, test and run on a fresh Debian/Ubuntu machine.
# Every target first makes sure the system packages it needs are installed.

GO ?= go
BIN := bin/subtune

.PHONY: deps test-deps build test fuzz bench bench-bf16 reproduce clean

# deps installs what the build links: OpenBLAS (the float32 GEMM behind
# every dense layer) and oneDNN (libdnnl-dev, 2.6 on Debian 12: the bfloat16
# GEMM of --bf16), when missing. A build with -tags nodnnl needs no oneDNN
# and has no --bf16; -tags purego needs neither library.
deps:
	@missing=; \
	ldconfig -p | grep -q 'libopenblas\.so ' || missing="$$missing libopenblas-dev"; \
	[ -e /usr/include/oneapi/dnnl/dnnl.h ] || missing="$$missing libdnnl-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
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

# test also runs every fuzz target on its seed corpus and on the inputs
# committed under testdata/fuzz (a few seconds in all): deterministic, and
# every crash fuzzing ever found stays fixed.
test: test-deps
	$(GO) test ./...
	$(GO) test -tags purego ./blas ./nn ./model
	$(GO) test -tags nodnnl ./blas ./model ./trainer

# reproduce runs the paper's pipeline on the shipped model (quick profile);
# ARGS passes more flags, e.g. make reproduce ARGS="--tasks sst2,stsb,cola".
reproduce: build
	./$(BIN) reproduce $(ARGS)

# bench-bf16 times the bfloat16 GEMM against sgemm on BERT-base's shapes.
bench-bf16: deps
	$(GO) test -run '^$$' -bench GemmBF16 -benchtime 10x ./blas

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 5x ./blas ./model

clean:
	rm -rf bin

# fuzz runs each fuzz target in turn for FUZZTIME, e.g. make fuzz
# FUZZTIME=10m. A crash stops it; the input is saved under the package's
# testdata/fuzz/<target>/, where go test replays it from then on. New
# inputs are minimised only briefly: large seeds would otherwise spend the
# time budget on minimisation.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 100x
fuzz: deps
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=$$(dirname $$file); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "fuzz: $$pkg $$target for $(FUZZTIME)"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME); \
		done; \
	done
