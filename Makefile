# smartermail-shim — build, test, benchmark.
# Libraries come from Debian's -dev packages through pkg-config; `make deps`
# installs them.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

LIBS_PKG := libfastjson libpcre2-8
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
BIN := smartermail-shim

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
GOLDEN := $(BUILD)/tests/golden

DEBIAN_DEPS := build-essential pkg-config libfastjson-dev libpcre2-dev libcmocka-dev \
	liblognorm-utils tzdata python3 time

.PHONY: all deps check unit golden check-asan bench demo clean install docs-check

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

# Everything: unit tests, golden cases, docs in step with the code.
check: all unit golden docs-check
	@echo "check: all passed"

docs-check: $(BIN)
	@./$(BIN) --options-markdown > $(BUILD)/options.md.gen
	@awk '/<!-- options:begin -->/{f=1;next}/<!-- options:end -->/{f=0}f' docs/options.md > $(BUILD)/options.md.doc
	@diff -u $(BUILD)/options.md.doc $(BUILD)/options.md.gen || \
	  { echo "docs/options.md is out of date: regenerate the table with ./$(BIN) --options-markdown"; exit 1; }
	@echo "docs-check: docs/options.md matches the option table"

check-asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS=-fsanitize=address,undefined check

bench: $(BIN) $(BUILD)/bench/encode_cmp
	python3 tests/bench/bench.py $(BENCH_ARGS)

demo: $(BIN)
	./$(BIN) parse --timezone America/Chicago samples/*.log

clean:
	rm -rf build build-asan $(BIN)

$(BUILD)/bench/encode_cmp: tests/bench/encode_cmp.c $(BUILD)/libshim.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) -Ishim -o $@ $< $(BUILD)/libshim.a $(LDLIBS_ALL)
