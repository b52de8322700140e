# smartermail-shim — build, test, benchmark.
# Libraries come from Debian's -dev packages through pkg-config; `make deps`
# installs them.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0

LIBS_PKG := libfastjson libpcre2-8 libsystemd openssl relp rdkafka libzip
TEST_PKG := cmocka

CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Werror -Wswitch-enum -Wshadow -Wstrict-prototypes -Wmissing-prototypes
OPT ?= -O2 -g
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(EXTRA_CFLAGS) -Ishim \
	-DSHIM_VERSION='"$(VERSION)"' -DMAPPINGS_DIR='"$(PREFIX)/share/smartermail-shim/mappings"' \
	$(SONAMES) \
	$(shell $(PKG_CONFIG) --cflags $(LIBS_PKG))
LDLIBS_ALL = $(shell $(PKG_CONFIG) --libs $(LIBS_PKG))
# librelp and librdkafka are loaded when an output needs them (shim/base/dlib.h):
# the binary does not link them; the tests do (they call them directly).
DLOPEN_PKG := relp rdkafka
LDLIBS_BIN = $(shell $(PKG_CONFIG) --libs $(filter-out $(DLOPEN_PKG),$(LIBS_PKG)))
# the name to dlopen: the SONAME of the library the headers belong to
soname = $(shell readelf -d $$($(PKG_CONFIG) --variable=libdir $(1))/lib$(2).so 2>/dev/null | \
	sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
SONAMES := -DRELP_SONAME='"$(call soname,relp,relp)"' -DRDKAFKA_SONAME='"$(call soname,rdkafka,rdkafka)"'

BUILD ?= build
SRCS := $(filter-out shim/cli/main.c,$(wildcard shim/*/*.c))
OBJS := $(SRCS:shim/%.c=$(BUILD)/%.o)
BIN ?= smartermail-shim

UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
GOLDEN := $(BUILD)/tests/golden

DEBIAN_DEPS := build-essential pkg-config libfastjson-dev libpcre2-dev libcmocka-dev libsystemd-dev \
	libssl-dev librelp-dev librdkafka-dev libzip-dev \
	liblognorm-utils tzdata python3 python3-pytest python3-yaml man-db time \
	clang libclang-rt-14-dev valgrind chromium faketime

.PHONY: layers all deps check tests unit golden fault bad-input follow outputs kafka check-asan bench demo clean docs-check fuzz memcheck

all: $(BIN)

deps:
	@missing=""; for p in $(DEBIAN_DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/%.o: shim/%.c $(wildcard shim/*/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/libshim.a: $(OBJS)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/cli/main.o $(BUILD)/libshim.a
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $^ $(LDLIBS_BIN)

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

# The outputs against a real rsyslog and journald, and a real Kafka broker
# (KRaft, from Maven Central), each started by its harness on loopback.
outputs: $(BIN)
	tests/receivers/rsyslog-harness.sh deps
	tests/receivers/journald-harness.sh deps
	SHIM=./$(BIN) $(PYTEST) -q tests/receivers

kafka: $(BIN)
	tests/kafka/kafka-harness.sh fetch
	SHIM=./$(BIN) $(PYTEST) -q tests/kafka

# Fault injection (tests/fault/): the Nth allocation fails; checkpoint
# writes hit ENOSPC, EIO, short writes and a crash before the rename. The
# binaries link with -Wl,--wrap, so tests/fault/run.sh builds and runs them.
fault: export FAULT_CC = $(CC)
fault: export FAULT_CFLAGS = $(CFLAGS_ALL) -Ishim $(shell $(PKG_CONFIG) --cflags $(TEST_PKG))
fault: export FAULT_LDFLAGS = $(LDFLAGS)
fault: export FAULT_LIBS = $(BUILD)/libshim.a $(LDLIBS_ALL) $(shell $(PKG_CONFIG) --libs $(TEST_PKG))
fault: export FAULT_OUT = $(BUILD)/fault
fault: $(BUILD)/libshim.a
	tests/fault/run.sh

# Hostile input through `parse` (tests/bad/): exit 0, valid JSON, no line lost.
bad-input: $(BIN)
	SHIM=./$(BIN) $(PYTEST) -q tests/bad

tests: all layers unit golden fault bad-input docs-check follow man-check deploy-check install-check outputs kafka
	@echo "tests: all passed"

# The source tree's layering: no upward include between folders, no
# include or call cycle between modules (docs/architecture.md).
layers: $(BIN)
	python3 tests/layout/check_layers.py shim $(BUILD)

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
	@for id in $$(grep -o '"[0-9a-f]\{32\}"' shim/outputs/sink_journal.c | tr -d '"'); do \
	  grep -q "^-- $$id" deploy/smartermail-shim.catalog || { echo "deploy/smartermail-shim.catalog lacks MESSAGE_ID $$id"; exit 1; }; done
	@echo "docs-check: docs/options.md, docs/fields.md and the journald catalog match the code"

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
check-asan:
	@$(MAKE) -s deps
	@$(MAKE) BUILD=build-asan BIN=build-asan/smartermail-shim \
		OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS=-fsanitize=address,undefined unit golden fault bad-input follow outputs

bench: $(BIN) $(BUILD)/bench/encode_cmp
	python3 tests/bench/bench.py $(BENCH_ARGS)
	tests/receivers/rsyslog-harness.sh deps
	tests/receivers/journald-harness.sh deps
	SHIM=./$(BIN) /usr/bin/python3 tests/receivers/bench_outputs.py
	tests/kafka/kafka-harness.sh fetch
	SHIM=./$(BIN) /usr/bin/python3 tests/kafka/bench_kafka.py

# The README's first command: the daemon follows a copy of the bundled
# sample logs from their beginning and prints every event on standard
# output; after a few seconds it is stopped with SIGTERM (a clean stop).
DEMO_SECONDS ?= 3
demo:
	@$(MAKE) -s deps
	@$(MAKE) -s all
	@rm -rf $(BUILD)/demo && mkdir -p $(BUILD)/demo/logs $(BUILD)/demo/state
	@cp samples/*.log $(BUILD)/demo/logs/
	@timeout -s TERM $(DEMO_SECONDS) ./$(BIN) run --allow-root --logs $(BUILD)/demo/logs \
		--state $(BUILD)/demo/state --from beginning --output stdout \
		--timezone America/Chicago --host-name mail01; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 124 ]

clean:
	rm -rf build build-asan smartermail-shim

$(BUILD)/bench/encode_cmp: tests/bench/encode_cmp.c $(BUILD)/libshim.a
	@mkdir -p $(BUILD)/bench
	$(CC) $(CFLAGS_ALL) -Ishim -o $@ $< $(BUILD)/libshim.a $(LDLIBS_ALL)

# ---- installing -------------------------------------------------------------
# `make install PREFIX=/usr` (docs/install.md): the binary, the mappings, the
# man pages, the systemd unit with its sysusers.d entry, the journald catalog,
# the documentation and the pipeline examples, and the config file (only when
# there is none yet: an edited config survives reinstalling). DESTDIR stages it.
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/smartermail-shim
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
SHIM_ABS = $(abspath $(BIN))
MAN_PAGES := $(BUILD)/man/smartermail-shim.1 $(BUILD)/man/smartermail-shim.conf.5
EXAMPLES := elasticsearch filebeat graylog logstash rsyslog vector cifs

.PHONY: install uninstall man man-check deploy-check deploy-regen install-check FORCE

# The mappings directory is compiled in: rebuild what uses it when PREFIX changes.
$(BUILD)/core/setup.o: $(BUILD)/prefix.stamp
$(BUILD)/prefix.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@

# Man pages: hand-written deploy/man/*.in with the option list generated from
# the option table (the one --help prints) in place of the @OPTIONS@ line.
man: $(MAN_PAGES)
$(BUILD)/man/%: deploy/man/%.in $(BIN) $(BUILD)/prefix.stamp
	@mkdir -p $(BUILD)/man
	@$(SHIM_ABS) --man-options $(subst .,,$(suffix $*)) > $@.options
	@sed -e '/^@OPTIONS@$$/{r $@.options' -e 'd;}' \
	  -e 's|@VERSION@|$(VERSION)|g; s|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< > $@
	@rm -f $@.options

install: $(BIN) man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/smartermail-shim/mappings \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(DOCDIR)/examples \
	  $(DESTDIR)$(SYSCONFDIR)/smartermail-shim
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/smartermail-shim
	install -m 644 mappings/*.json $(DESTDIR)$(DATADIR)/smartermail-shim/mappings/
	install -m 644 $(BUILD)/man/smartermail-shim.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(BUILD)/man/smartermail-shim.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed 's|@BINDIR@|$(BINDIR)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g; s|@DOCDIR@|$(DOCDIR)|g' deploy/smartermail-shim.service \
	  > $(DESTDIR)$(UNITDIR)/smartermail-shim.service
	chmod 644 $(DESTDIR)$(UNITDIR)/smartermail-shim.service
	install -m 644 deploy/smartermail-shim.sysusers $(DESTDIR)$(SYSUSERSDIR)/smartermail-shim.conf
	install -m 644 deploy/smartermail-shim.catalog $(DESTDIR)$(CATALOGDIR)/
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 deploy/smartermail-shim.conf $(DESTDIR)$(DOCDIR)/examples/
	cp -R $(addprefix deploy/,$(EXAMPLES)) $(DESTDIR)$(DOCDIR)/examples/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/smartermail-shim/smartermail-shim.conf ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/smartermail-shim/smartermail-shim.conf (the new one is in $(DOCDIR)/examples/)"; \
	else \
	  echo "install -m 600 deploy/smartermail-shim.conf $(DESTDIR)$(SYSCONFDIR)/smartermail-shim/"; \
	  install -m 600 deploy/smartermail-shim.conf $(DESTDIR)$(SYSCONFDIR)/smartermail-shim/; \
	fi

# Leaves the config file, the state directory and the service account.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/smartermail-shim \
	  $(DESTDIR)$(MANDIR)/man1/smartermail-shim.1 $(DESTDIR)$(MANDIR)/man5/smartermail-shim.conf.5 \
	  $(DESTDIR)$(UNITDIR)/smartermail-shim.service $(DESTDIR)$(SYSUSERSDIR)/smartermail-shim.conf \
	  $(DESTDIR)$(CATALOGDIR)/smartermail-shim.catalog
	rm -rf $(DESTDIR)$(DATADIR)/smartermail-shim $(DESTDIR)$(DOCDIR)

# The man pages render without a warning and say what --help says.
man-check: $(BIN) man
	SHIM=$(SHIM_ABS) MAN_DIR=$(abspath $(BUILD))/man $(PYTEST) -q tests/deploy/test_man.py

# The config file, check-config, the progress line, and every deploy/ example
# (valid JSON/YAML/rsyslog, field names from docs/fields.md, the Elasticsearch
# template's types).
deploy-check: $(BIN)
	tests/receivers/rsyslog-harness.sh deps
	SHIM=$(SHIM_ABS) $(PYTEST) -q tests/deploy --ignore=tests/deploy/test_man.py

# Rewrite the generated parts of deploy/ after an option or a field was
# added: the key list of the config file and the Elasticsearch template.
PYTHON ?= /usr/bin/python3
deploy-regen: $(BIN)
	@$(SHIM_ABS) --config-template > $(BUILD)/conf.gen
	@awk -v gen=$(BUILD)/conf.gen '/^# -- generated: end$$/ { skip = 0 } !skip { print } \
	  /^# -- generated: begin$$/ { while ((getline l < gen) > 0) print l; skip = 1 }' \
	  deploy/smartermail-shim.conf > $(BUILD)/conf.new
	@mv $(BUILD)/conf.new deploy/smartermail-shim.conf
	@SHIM=$(SHIM_ABS) $(PYTHON) tests/deploy/fields_doc.py --write-es-template

# docs/install.md followed in a scratch root: make install, systemd-sysusers,
# systemctl enable, systemd-analyze verify and security, then the installed
# binary as the service account on the sample logs into a private journald.
install-check:
	tests/install/install-test.sh

# libFuzzer targets (clang), each run for FUZZ_SECONDS after replaying the
# regression inputs; and the parse path under valgrind memcheck.
FUZZ_SECONDS ?= 60
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

memcheck: $(BIN)
	SHIM=./$(BIN) tests/fuzz/memcheck.sh
