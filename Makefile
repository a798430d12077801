# Tessera's front door.  Every target installs missing Debian packages
# first (scripts/install-deps.sh), then drives Meson.
BUILD   ?= build
ASAN    ?= build-asan
MESON   ?= meson
SAN_ENV  = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build test sanitize bench install run clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: build
	$(MESON) test -C $(BUILD) --print-errorlogs

$(ASAN)/build.ninja:
	$(MESON) setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false

sanitize: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)
	$(SAN_ENV) $(MESON) test -C $(ASAN) --print-errorlogs --timeout-multiplier 3

bench: build
	$(MESON) test -C $(BUILD) --benchmark --verbose

install: build
	$(MESON) install -C $(BUILD)

run: build
	./scripts/dev-run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN)
