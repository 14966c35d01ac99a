# dbops — one non-recursive build.
#
#   make              build/dbops and build/plugins/dbops_<name>.so
#   make check        install what is missing, build, run every test
#   make check-unit   the unit tests only (no server)
#   make check-asan   everything built with ASan and UBSan into build-asan/,
#                     then every test against that build
#   make fuzz         each libFuzzer harness (tests/fuzz) for FUZZ_SECONDS;
#                     FUZZ=pooler runs one
#   make demo         sandbox cluster + example spec repository: plan, apply, plan
#   make lint         clang-format and contrib/checkstyle.sh
#   make install      honours PREFIX and DESTDIR
#   make bench        tests/bench (hyperfine ratios)
#
# V=1 prints full commands. CI=true adds -Werror. B=DIR builds into DIR
# (default build); SANITIZE=address,undefined adds those sanitizers.

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
PLUGINDIR ?= $(LIBDIR)/dbops/plugins
DESTDIR   ?=

CC        ?= cc
PKGS      := libpq yaml-0.1 libgit2 libcurl json-c nettle libmicrohttpd \
	libsystemd libcrypto
PLUGINS   := parameters roles pooler replicas migrations monitoring backups

# Libraries one plugin needs beyond the common ones.
PLUGIN_LIBS_migrations = -lpg_query -pthread
# monitoring: libpg_query for the candidate columns of index advice and
# N+1 rewrites, libpq directly for statements that may fail (EXPLAIN).
PLUGIN_LIBS_monitoring = -lpg_query -pthread
# roles: libcrypto; libidn (the RFC 3454 tables) and libunistring (NFKC of
# Unicode 14.0.0, as PostgreSQL 15) for SASLprep as PostgreSQL applies it,
# see plugins/roles/saslprep.c. libunistring has no pkg-config file.
PLUGIN_LIBS_roles = $(shell pkg-config --libs libcrypto libidn 2>/dev/null) -lunistring
PLUGIN_CFLAGS_roles = $(shell pkg-config --cflags libidn 2>/dev/null)
# Sources shared by several plugins, compiled into each that lists them:
# plugins/patroni.c, the client of Patroni's REST API (libcurl, json-c,
# both in PKGS). The replicas plugin's failover drill runs its writer in a
# thread.
PLUGIN_EXTRA_SRCS_replicas = plugins/patroni.c
PLUGIN_EXTRA_SRCS_parameters = plugins/patroni.c
PLUGIN_LIBS_replicas = -pthread
# backups: lz4 and zstd frames, AES-256-GCM and SHA-256 (libcrypto); libcurl
# (S3) and json-c (the catalog) are among the common libraries.
PLUGIN_LIBS_backups = $(shell pkg-config --libs liblz4 libzstd libcrypto 2>/dev/null)
PLUGIN_CFLAGS_backups = $(shell pkg-config --cflags liblz4 libzstd 2>/dev/null)

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wcast-qual -Wnull-dereference
ifeq ($(CI),true)
WARN += -Werror
endif

# The sanitizer builds use Debian's clang (its runtimes come from
# libclang-rt-14-dev).
SAN_CC    ?= clang-14
SANITIZE  ?=
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer)
ASAN_B    := build-asan
FUZZ_B    := build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 15

CFLAGS   ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	$(WARN) $(CFLAGS) $(SAN_FLAGS) -Iinclude -Icontroller $(PKG_CFLAGS) -MMD -MP \
	-DDBOPS_PLUGINDIR='"$(PLUGINDIR)"' -DDBOPS_VERSION='"$(VERSION)"'
PLUGIN_CFLAGS = $(ALL_CFLAGS) -fPIC -fvisibility=hidden

VERSION := 0.1.0

B ?= build

# clang (the sanitizer builds) wants format attributes on host.c's printf-
# like callbacks, which gcc does not ask for; until host.c declares them
# (DBOPS_PRINTF, as tests/unit/fake_host.c does), not for that file.
$(B)/controller/host.o: WARN += -Wno-format-nonliteral

CTRL_SRCS := $(filter-out controller/main.c,$(wildcard controller/*.c))
CTRL_OBJS := $(CTRL_SRCS:%.c=$(B)/%.o)
MAIN_OBJ  := $(B)/controller/main.o

# plugins/<name>/<name>.c holds the descriptor and entry point; the other
# files of a plugin are also linked into the unit-test runner.
plugin_srcs = $(wildcard plugins/$(1)/*.c) $(PLUGIN_EXTRA_SRCS_$(1))
plugin_lib_srcs = $(filter-out plugins/$(1)/$(1).c,$(call plugin_srcs,$(1)))
PLUGIN_SOS := $(PLUGINS:%=$(B)/plugins/dbops_%.so)
# a shared source is linked into the unit runner once
PLUGIN_LIB_OBJS := $(sort $(patsubst %.c,$(B)/%.pic.o,$(foreach p,$(PLUGINS),$(call plugin_lib_srcs,$(p)))))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(B)/%.o)
FIXTURE_SRCS := $(wildcard tests/fixtures/plugins/*.c)
FIXTURE_SOS := $(FIXTURE_SRCS:tests/fixtures/plugins/%.c=$(B)/tests/plugins/%.so)

# One libFuzzer harness per tests/fuzz/fuzz_<name>.c, linked like the
# unit runner (the controller library and every plugin's objects) with the
# shared driver tests/fuzz/harness.c.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
ALL_PLUGIN_LIBS = $(foreach p,$(PLUGINS),$(PLUGIN_LIBS_$(p)))

# What `make check` and `make check-asan` build before running tests/run.
TEST_BUILD := all $(B)/tests/unit-runner $(FIXTURE_SOS)
SAN_MAKE = $(MAKE) --no-print-directory CC=$(SAN_CC)
FUZZ_MAKE = $(SAN_MAKE) B=$(FUZZ_B) SANITIZE=fuzzer-no-link,address,undefined

.PHONY: all check check-unit check-integration check-asan fuzz fuzz-bins \
	test-build demo lint install uninstall bench clean deps

all: $(B)/dbops $(PLUGIN_SOS)

$(B)/libdbops.a: $(CTRL_OBJS)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(B)/dbops: $(MAIN_OBJ) $(B)/libdbops.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lm -pthread

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/%.pic.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<

$(foreach p,$(PLUGINS),$(eval $(B)/plugins/$(p)/%.pic.o: PLUGIN_CFLAGS += $$(PLUGIN_CFLAGS_$(p))))

define plugin_rule
$(B)/plugins/dbops_$(1).so: $(patsubst %.c,$(B)/%.pic.o,$(call plugin_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	$(Q)$$(CC) -shared $$(LDFLAGS) $$(SAN_FLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(PLUGIN_LIBS_$(1)) -lm
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

$(B)/tests/plugins/%.so: tests/fixtures/plugins/%.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(PLUGIN_CFLAGS) -shared -o $@ $<

$(B)/tests/unit-runner: $(UNIT_OBJS) $(PLUGIN_LIB_OBJS) $(B)/libdbops.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS) \
		$(ALL_PLUGIN_LIBS) -ldl -lm -pthread

$(B)/fuzz/%: $(B)/tests/fuzz/%.o $(B)/tests/fuzz/harness.o \
		$(PLUGIN_LIB_OBJS) $(B)/libdbops.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $^ \
		$(PKG_LIBS) $(ALL_PLUGIN_LIBS) -ldl -lm -pthread

fuzz-bins: $(FUZZ_BINS)

# the harnesses' objects are kept, not deleted as intermediate files
.SECONDARY: $(FUZZ_SRCS:%.c=$(B)/%.o) $(B)/tests/fuzz/harness.o

deps:
	$(Q)contrib/install-deps.sh

test-build: $(TEST_BUILD)

check-unit: test-build
	$(Q)tests/run --unit-only

check-integration: all $(FIXTURE_SOS)
	$(Q)tests/run --integration-only

check: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)$(FUZZ_MAKE) fuzz-bins
	$(Q)FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) tests/run \
		--fuzz-build $(FUZZ_B)

check-asan: deps
	$(Q)$(SAN_MAKE) B=$(ASAN_B) SANITIZE=address,undefined test-build
	$(Q)$(FUZZ_MAKE) fuzz-bins
	$(Q)FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) tests/run \
		--build $(ASAN_B) --fuzz-build $(FUZZ_B)

fuzz: deps
	$(Q)$(FUZZ_MAKE) fuzz-bins
	$(Q)tests/fuzz/run --build $(FUZZ_B) --seconds $(FUZZ_SECONDS) $(FUZZ)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)contrib/demo.sh

lint:
	$(Q)clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	$(Q)contrib/checkstyle.sh

bench: all
	$(Q)tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR)
	install -m 0755 $(B)/dbops $(DESTDIR)$(BINDIR)/dbops
	install -m 0755 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dbops
	rm -f $(PLUGINS:%=$(DESTDIR)$(PLUGINDIR)/dbops_%.so)

clean:
	rm -rf $(B) $(ASAN_B) $(FUZZ_B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
