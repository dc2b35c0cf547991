# Postern: one plain GNU Makefile. Objects and binaries go to build/ (build/asan/ for `sanitize`).
# `make test` installs missing Debian packages first (`deps`), then runs unit, integration and
# fuzz-corpus replay. See README.md for every target.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
PYTHON     ?= /usr/bin/python3
SECONDS    ?= 60
BUILD      ?= build
V          ?= 0
# make V=1 shows the compiler command lines
Q          := $(if $(filter 1,$(V)),,@)

PKGS       := libjwt jansson libpq openssl libcurl libxcrypt
# libfcgi only for the allow-all baseline: the programs speak FastCGI with lib/fcgi_wire.c.
FCGI_LIBS   = $(shell pkg-config --libs fcgi)
# Recursive (=) on purpose: pkg-config runs only when a recipe needs it, after `deps`.
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    = $(shell pkg-config --libs $(PKGS)) -lpthread
# The authorizer never fetches a URL: no libcurl (and none of the libraries it brings) in it.
AUTHZ_LIBS  = $(shell pkg-config --libs $(filter-out libcurl,$(PKGS))) -lpthread
CHECK_LIBS  = $(shell pkg-config --libs check)

# -Wno-format-truncation: every snprintf is bounded and truncation is deliberate.
WARN       := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
              -Wvla -Wpointer-arith -Wundef \
              -Wno-format-truncation
ifeq ($(CI),true)
WARN       += -Werror
endif
HARDEN     := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
OPT        ?= -O2 -g
CFLAGS     ?=
SYSCONFDIR  = $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)/postern
CPPFLAGS   += -D_GNU_SOURCE -DPOSTERN_VERSION='"$(VERSION)"' \
              -DPOSTERN_SYSCONFDIR='"$(SYSCONFDIR)"' -Ilib
ALL_CFLAGS  = -std=c11 $(OPT) $(WARN) $(HARDEN) $(SAN) $(CFLAGS) $(PKG_CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)

LIB_SRC    := $(sort $(wildcard lib/*.c))
AUTHZ_SRC  := $(sort $(wildcard authorizer/*.c))
RESP_SRC   := $(sort $(wildcard responder/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBPOSTERN := $(BUILD)/libpostern.a
AUTHZ_BIN  := $(BUILD)/postern-authorizer
RESP_BIN   := $(BUILD)/postern-responder
UNIT_BIN   := $(BUILD)/unit-tests
ALLOW_ALL  := $(BUILD)/allow-all
REPLAY_BINS := $(patsubst %,$(BUILD)/replay-%,$(FUZZ_NAMES))
DECIDE_BENCH := $(BUILD)/decide-bench
LIB_FLOOR  := $(BUILD)/lib-floor

# Debian packages: what building needs, and what the tests need on top.
DEB_BUILD  := build-essential pkg-config libfcgi-dev libjwt-dev libjansson-dev libpq-dev \
              libssl-dev libcurl4-openssl-dev libcrypt-dev
DEB_TEST   := check postgresql postgresql-contrib lighttpd spawn-fcgi python3-pytest \
              python3-requests python3-psycopg2 cppcheck clang-format clang libclang-rt-14-dev \
              curl procps util-linux valgrind apache2 libapache2-mod-fcgid nginx fcgiwrap \
              lighttpd-modules-lua chromium chromium-driver python3-selenium systemd
# ... and what `make bench` needs on top of both (tests/bench/run.py).
DEB_BENCH  := postgresql postgresql-contrib lighttpd spawn-fcgi nginx apache2 \
              libapache2-mod-auth-openidc wrk python3-requests python3-psycopg2 procps

.PHONY: all test check-all unit integration fuzz-replay fuzz sanitize valgrind lint format deps \
        deps-build install clean docs-check demo demo-stop bench
.DEFAULT_GOAL := all
.SECONDARY:

all: $(AUTHZ_BIN) $(RESP_BIN)

$(BUILD)/obj/%.o: %.c $(wildcard lib/*.h) | $(BUILD)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD):
	@mkdir -p $@

$(LIBPOSTERN): $(call obj,$(LIB_SRC))
	$(AR) rcs $@ $^

$(AUTHZ_BIN): $(call obj,$(AUTHZ_SRC)) $(LIBPOSTERN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(AUTHZ_LIBS)

$(RESP_BIN): $(call obj,$(RESP_SRC)) $(LIBPOSTERN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(UNIT_BIN): $(call obj,$(UNIT_SRC)) $(LIBPOSTERN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS)

# The trivial allow-all authorizer: web-server wiring tests and benchmark case B.
$(ALLOW_ALL): $(BUILD)/obj/tests/bench/allow_all.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FCGI_LIBS)

# The floor of the authorizer's RSS: its libraries, loaded (--no-as-needed) and never called.
$(LIB_FLOOR): $(BUILD)/obj/tests/bench/lib_floor.o
	$(CC) $(ALL_LDFLAGS) -Wl,--no-as-needed -o $@ $^ $(AUTHZ_LIBS)

# The in-process microbenchmark of authz_decide (cache hits): the authorizer's objects but
# main.o; the activity writes are wrapped (counted, not sent), so it needs no database.
$(DECIDE_BENCH): $(BUILD)/obj/tests/bench/decide_bench.o $(filter-out $(BUILD)/obj/authorizer/main.o,$(call obj,$(AUTHZ_SRC))) $(LIBPOSTERN)
	$(CC) $(ALL_LDFLAGS) -Wl,--wrap=db_touch_session,--wrap=db_touch_api_key -o $@ $^ $(AUTHZ_LIBS)

# Corpus replay: each fuzz target linked with a plain main() that feeds it every corpus file.
$(BUILD)/replay-%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $(LIBPOSTERN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# ---- tests ---------------------------------------------------------------------------------

test: deps
	@$(MAKE) --no-print-directory check-all

check-all: unit integration fuzz-replay

unit: $(UNIT_BIN) $(AUTHZ_BIN) $(RESP_BIN)
	CK_FORK=yes POSTERN_SRCDIR=$(CURDIR) $(UNIT_BIN)
	@$(MAKE) --no-print-directory docs-check

# README's config reference and conf/postern.conf.example are generated from the key table.
docs-check: $(AUTHZ_BIN)
	@$(AUTHZ_BIN) --config-example | diff -u conf/postern.conf.example - \
	  || { echo "conf/postern.conf.example is stale: $(AUTHZ_BIN) --config-example > conf/postern.conf.example"; exit 1; }
	@$(AUTHZ_BIN) --config-reference > $(BUILD)/config-reference.md
	@awk '/<!-- config-reference:begin -->/{f=1;next}/<!-- config-reference:end -->/{f=0}f' README.md \
	  | diff -u - $(BUILD)/config-reference.md \
	  || { echo "README.md config reference is stale: paste $(AUTHZ_BIN) --config-reference"; exit 1; }
	@echo "docs-check: config example and README reference match the key table"

integration: $(AUTHZ_BIN) $(RESP_BIN) $(ALLOW_ALL)
	POSTERN_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

fuzz-replay: $(REPLAY_BINS)
	@for t in $(FUZZ_NAMES); do $(BUILD)/replay-$$t tests/fuzz/corpus/$$t || exit 1; done

# libFuzzer builds (clang) for real fuzzing: make fuzz SECONDS=N
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib
fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@for t in $(FUZZ_NAMES); do \
	  clang $(CPPFLAGS) $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $(BUILD)/fuzz/$$t tests/fuzz/fuzz_$$t.c $(LIB_SRC) $(PKG_LIBS) || exit 1; \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(SECONDS) -artifact_prefix=$(BUILD)/fuzz/$$t- \
	    $$( [ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict ) \
	    $(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# The whole suite again with AddressSanitizer + UndefinedBehaviorSanitizer builds.
# Check forks each test (CK_FORK), so LeakSanitizer checks every test process as it exits.
sanitize: deps
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build/asan OPT='-O1 -g -fno-omit-frame-pointer' \
	  SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' HARDEN='-fPIE' check-all

# The unit tests in one process under valgrind: no invalid access, no definite or indirect leak.
valgrind: $(UNIT_BIN)
	CK_FORK=no POSTERN_SRCDIR=$(CURDIR) valgrind -q --error-exitcode=1 --leak-check=full \
	  --errors-for-leak-kinds=definite,indirect $(UNIT_BIN)

C_FILES = $(wildcard lib/*.[ch] authorizer/*.[ch] responder/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/bench/*.[ch])
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem --std=c11 -Ilib -D__GNUC__ $(C_FILES)
	clang-format --dry-run --Werror $(C_FILES)
	@echo "lint: cppcheck and clang-format clean"

format:
	clang-format -i $(C_FILES)

# ---- benchmark -----------------------------------------------------------------------------

# make bench: deps (DEB_BUILD and DEB_BENCH: the test list is not needed), the build, then
# tests/bench/run.py (README: Performance).
# Knobs: BENCH_SECONDS (per wrk run, default 3), BENCH_ROUNDS (default 5), BENCH_CASES
# (e.g. A,B,C), BENCH_ARGS (any other run.py option, e.g. --study or --threads 8).
BENCH_SECONDS ?= 3
BENCH_ROUNDS  ?= 5
bench:
	@$(MAKE) --no-print-directory deps DEB_TEST="$(DEB_BENCH)"
	@$(MAKE) --no-print-directory all $(ALLOW_ALL) $(DECIDE_BENCH) $(LIB_FLOOR)
	POSTERN_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) tests/bench/run.py --seconds $(BENCH_SECONDS) \
	  --rounds $(BENCH_ROUNDS) $(if $(BENCH_CASES),--cases $(BENCH_CASES)) $(BENCH_ARGS)

# ---- demo ----------------------------------------------------------------------------------

# A private PostgreSQL in ./var/, both programs and lighttpd on 127.0.0.1 protecting demo/site/;
# with OIDC=1 also the test OpenID Provider (tests/idp) and sign-in through it.
# deps first, then the build: with make -j the two must not overlap
demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@POSTERN_BUILD=$(CURDIR)/$(BUILD) POSTERN_DEMO_OIDC=$(if $(OIDC),1,0) bash demo/demo.sh start

demo-stop:
	@bash demo/demo.sh stop

# ---- packages ------------------------------------------------------------------------------

deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all required Debian packages are installed"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	echo "deps: installing with $${sudo:-apt-get as root}:$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing
	@# the OIDC tests' provider (tests/idp) runs on Node.js; a machine without one gets Debian's
	@command -v node >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }

# ---- install -------------------------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/postern/sql/migrations
	install -m 0755 $(AUTHZ_BIN) $(RESP_BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 sql/*.sql sql/README.md $(DESTDIR)$(PREFIX)/share/postern/sql/
	install -m 0644 sql/migrations/*.sql $(DESTDIR)$(PREFIX)/share/postern/sql/migrations/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in conf/systemd/*.service.in; do \
	  sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$u \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u .in) || exit 1; \
	done
	for d in conf $(sort $(dir $(wildcard conf/*/*))); do \
	  install -d $(DESTDIR)$(PREFIX)/share/postern/$$d && \
	  install -m 0644 $$(find $$d -maxdepth 1 -type f) $(DESTDIR)$(PREFIX)/share/postern/$$d/ || exit 1; \
	done

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
