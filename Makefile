# smartermail-shim — build, test, benchmark.
# Libraries come from Debian's -dev packages through pkg-config; `make deps`
# installs them.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

LIBS_PKG := libfastjson libpcre2-8 libsystemd openssl relp rdkafka
TEST_PKG := cmocka

CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wswitch-enum -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(EXTRA_CFLAGS) \
	-DSHIM_VERSION='"$(VERSION)"' -DMAPPINGS_DIR='"$(PREFIX)/share/smartermail-shim/mappings"' \
	$(shell $(PKG_CONFIG) --cflags $(LIBS_PKG))
LDLIBS_ALL = $(shell $(PKG_CONFIG) --libs $(LIBS_PKG))

BUILD ?= build
SRCS := $(filter-out shim/main.c,$(wildcard shim/*.c))
OBJS := $(SRCS:shim/%.c=$(BUILD)/%.o)
BIN ?= smartermail-shim

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
GOLDEN := $(BUILD)/tests/golden

DEBIAN_DEPS := build-essential pkg-config libfastjson-dev libpcre2-dev libcmocka-dev libsystemd-dev \
	libssl-dev librelp-dev librdkafka-dev \
	liblognorm-utils tzdata python3 python3-pytest time

.PHONY: all deps check tests unit golden follow check-asan bench demo clean docs-check

all: $(BIN)

deps:
	@missing=""; for p in $(DEBIAN_DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/%.o: shim/%.c $(wildcard shim/*.h) Makefile
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libshim.a: $(OBJS)
	ar rcs $@ $^

$(BIN): $(BUILD)/main.o $(BUILD)/libshim.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libshim.a tests/unit/testutil.h
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -Ishim $(shell $(PKG_CONFIG) --cflags $(TEST_PKG)) -o $@ $< \
		$(BUILD)/libshim.a $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs $(TEST_PKG))

$(GOLDEN): tests/golden.c $(BUILD)/libshim.a
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_ALL) -Ishim $(shell $(PKG_CONFIG) --cflags $(TEST_PKG)) -o $@ $< \
		$(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs $(TEST_PKG))

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

golden: $(BIN) $(GOLDEN)
	SHIM=./$(BIN) CASES=tests/cases MAPPINGS=mappings $(GOLDEN)

# The README's test command: installs what is missing, then every test.
check:
	@$(MAKE) -s deps
	@$(MAKE) tests

# The daemon's tests drive the real binary on real files (Debian's python3
# and pytest, named by path so that another python3 on PATH does not matter).
PYTEST ?= /usr/bin/python3 -m pytest
follow: $(BIN)
	SHIM=./$(BIN) $(PYTEST) -q tests/run

tests: all unit golden docs-check follow
	@echo "tests: all passed"

# docs/options.md holds the option table as the binary prints it, and
# docs/fields.md names every field the binary and the mappings can emit.
docs-check: $(BIN)
	@./$(BIN) --options-markdown > $(BUILD)/options.md.gen
	@awk '/<!-- options:begin -->/{f=1;next}/<!-- options:end -->/{f=0}f' docs/options.md > $(BUILD)/options.md.doc
	@diff -u $(BUILD)/options.md.doc $(BUILD)/options.md.gen || \
	  { echo "docs/options.md is out of date: regenerate the table with ./$(BIN) --options-markdown"; exit 1; }
	@./$(BIN) fields --mappings mappings > $(BUILD)/fields.gen
	@missing=$$(while read -r f; do grep -qF "| \`$$f\` |" docs/fields.md || echo "$$f"; done < $(BUILD)/fields.gen); \
	  if [ -n "$$missing" ]; then echo "docs/fields.md does not list:"; echo "$$missing"; exit 1; fi
	@for id in $$(grep -o '"[0-9a-f]\{32\}"' shim/sink_journal.c | tr -d '"'); do \
	  grep -q "^-- $$id" deploy/smartermail-shim.catalog || { echo "deploy/smartermail-shim.catalog lacks MESSAGE_ID $$id"; exit 1; }; done
	@echo "docs-check: docs/options.md, docs/fields.md and the journald catalog match the code"

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
check-asan:
	@$(MAKE) -s deps
	@$(MAKE) BUILD=build-asan BIN=build-asan/smartermail-shim \
		OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS=-fsanitize=address,undefined tests

bench: $(BIN) $(BUILD)/bench/encode_cmp
	python3 tests/bench/bench.py $(BENCH_ARGS)

# The README's first command: the bundled sample logs through parse.
demo:
	@$(MAKE) -s deps
	@$(MAKE) -s all
	./$(BIN) parse --timezone America/Chicago --host-name mail01 samples/*.log

clean:
	rm -rf build build-asan smartermail-shim

$(BUILD)/bench/encode_cmp: tests/bench/encode_cmp.c $(BUILD)/libshim.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) -Ishim -o $@ $< $(BUILD)/libshim.a $(LDLIBS_ALL)
