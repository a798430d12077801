# Tessera's front door.  Every target installs missing Debian packages
# first (scripts/install-deps.sh), then drives Meson.
BUILD   ?= build
ASAN    ?= build-asan
MESON   ?= meson
SAN_ENV  = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps e2e-deps build test sanitize bench bench-compare install run clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# playwright-core and axe-core for the browser test (tests/e2e), again
# whenever package-lock.json is newer than what npm ci installed; never a
# browser download: the test drives Debian's chromium.
e2e-deps:
	@if { [ ! -f tests/e2e/node_modules/.package-lock.json ] || \
	    [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; } && \
	    command -v npm >/dev/null 2>&1; then \
		PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/e2e --no-audit --no-fund; \
	fi

test: build e2e-deps
	$(MESON) test -C $(BUILD) --print-errorlogs

# scripts/sanitizer-verdict fails a test whose output carries a sanitizer
# report, which Criterion's forked workers otherwise only log.
$(ASAN)/build.ninja:
	$(MESON) setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false

sanitize: deps e2e-deps $(ASAN)/build.ninja
	ninja -C $(ASAN)
	$(SAN_ENV) $(MESON) test -C $(ASAN) --print-errorlogs --timeout-multiplier 3 \
	    --no-suite docker --wrapper $(CURDIR)/scripts/sanitizer-verdict

bench: build
	$(MESON) test -C $(BUILD) --benchmark --verbose

# Issuance of this build against BASE's, alternating in one run
# (bench/http/compare.py); BASE is built in build-base/ from a git worktree.
BASE ?= 9747bf4
bench-compare: build
	@if [ "$$(git -C build-base/src rev-parse HEAD 2>/dev/null)" != \
	    "$$(git rev-parse $(BASE))" ]; then \
		git worktree remove --force build-base/src 2>/dev/null; \
		rm -rf build-base; \
		git worktree add --detach build-base/src $(BASE) && \
		$(MESON) setup build-base/build build-base/src; \
	fi
	ninja -C build-base/build tesserad tessera bench/http/loadgen bench/http/hostprobe
	HTTPBENCH_BASELINE_BUILD=$(CURDIR)/build-base/build \
	    TESSERA_BUILD_DIR=$(CURDIR)/$(BUILD) python3 bench/http/compare.py

install: build
	$(MESON) install -C $(BUILD)

run: build
	./scripts/dev-run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN)
