# lakeop — build, test, demo, bench.  See README.md.
#
#   make            build ./lakeop
#   make check      install what is missing, build with ASan/UBSan, run every test
#   make demo       the console on a private sandbox (Postgres, doubles, store)
#   make bench      the figures of ../shared/design/TARGETS.md, beside their peers

CC      ?= gcc
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

PKGS      := ncursesw libcurl jansson libpq zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libpq's headers live outside the default path on Debian even without pkg-config.
PKG_CFLAGS += -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DLAKEOP_VERSION='"$(VERSION)"' $(WARN) -g -MMD -MP \
           -Icore -Itui -Iscreens $(PKG_CFLAGS)
CFLAGS  ?= -O2
LIBS    := $(PKG_LIBS) -lcsv -lpthread -lm

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

CORE_SRC    := $(wildcard core/*.c)
TUI_SRC     := $(wildcard tui/*.c)
SCREENS_SRC := $(wildcard screens/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
TESTLIB_SRC := $(wildcard tests/unit/support/*.c)
BENCH_SRC   := $(wildcard tests/bench/*.c)
# C programs the integration scripts run against real servers (not run alone).
ITEST_SRC   := $(wildcard tests/integration/*.c)

# Two build trees: release (./lakeop) and sanitized (tests).
define objs
$(patsubst %.c,$(1)/%.o,$(2))
endef

REL := build/rel
SAN := build/san

REL_CORE := $(call objs,$(REL),$(CORE_SRC))
REL_TUI  := $(call objs,$(REL),$(TUI_SRC))
REL_SCR  := $(call objs,$(REL),$(SCREENS_SRC))
SAN_CORE := $(call objs,$(SAN),$(CORE_SRC))
SAN_TUI  := $(call objs,$(SAN),$(TUI_SRC))
SAN_SCR  := $(call objs,$(SAN),$(SCREENS_SRC))
SAN_TESTLIB := $(call objs,$(SAN),$(TESTLIB_SRC))
UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(REL)/tests/bench/%,$(BENCH_SRC))
ITEST_BINS := $(patsubst tests/integration/%.c,$(SAN)/itests/%,$(ITEST_SRC))

.PHONY: all check test unit demo bench install uninstall clean deps san man-check
all: lakeop

$(REL)/%.o: %.c core/migrations_sql.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c $< -o $@

$(SAN)/%.o: %.c core/migrations_sql.h
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

# Migrations are SQL files, compiled into the binary as string constants.
core/migrations_sql.h: $(sort $(wildcard core/migrations/*.sql)) tests/lib/embed_sql.sh
	sh tests/lib/embed_sql.sh $(sort $(wildcard core/migrations/*.sql)) > $@.tmp && mv $@.tmp $@

$(REL)/libcore.a: $(REL_CORE)
	@rm -f $@; ar rcs $@ $^
$(REL)/libtui.a: $(REL_TUI)
	@rm -f $@; ar rcs $@ $^
$(SAN)/libcore.a: $(SAN_CORE)
	@rm -f $@; ar rcs $@ $^
$(SAN)/libtui.a: $(SAN_TUI)
	@rm -f $@; ar rcs $@ $^

lakeop: $(REL_SCR) $(REL)/libtui.a $(REL)/libcore.a
	$(CC) $(CFLAGS) -o $@ $(REL_SCR) $(REL)/libtui.a $(REL)/libcore.a $(LIBS)

$(SAN)/lakeop: $(SAN_SCR) $(SAN)/libtui.a $(SAN)/libcore.a
	$(CC) $(SAN_FLAGS) -o $@ $(SAN_SCR) $(SAN)/libtui.a $(SAN)/libcore.a $(LIBS)

# Unit tests link everything but main.c, so screen code is testable too.
SAN_SCR_NOMAIN := $(filter-out $(SAN)/screens/main.o,$(SAN_SCR))
$(SAN)/tests/%: tests/unit/%.c $(SAN_TESTLIB) $(SAN_SCR_NOMAIN) $(SAN)/libtui.a $(SAN)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests/unit/support -O1 $(SAN_FLAGS) -o $@ $< $(SAN_TESTLIB) \
	    $(SAN_SCR_NOMAIN) $(SAN)/libtui.a $(SAN)/libcore.a $(LIBS) -lcmocka

$(SAN)/itests/%: tests/integration/%.c $(SAN_TESTLIB) $(SAN_SCR_NOMAIN) $(SAN)/libtui.a $(SAN)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Itests/unit/support -O1 $(SAN_FLAGS) -o $@ $< $(SAN_TESTLIB) \
	    $(SAN_SCR_NOMAIN) $(SAN)/libtui.a $(SAN)/libcore.a $(LIBS) -lcmocka

REL_SCR_NOMAIN := $(filter-out $(REL)/screens/main.o,$(REL_SCR))
$(REL)/tests/bench/%: tests/bench/%.c $(REL_SCR_NOMAIN) $(REL)/libtui.a $(REL)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(REL_SCR_NOMAIN) $(REL)/libtui.a $(REL)/libcore.a $(LIBS)

san: $(SAN)/lakeop $(UNIT_BINS) $(ITEST_BINS)

deps:
	@sh tests/lib/deps.sh

# make check: everything a fresh machine needs, then every test.
check: deps
	$(MAKE) all san
	sh tests/run.sh

# Unit tests only (fast; no servers).
unit: $(UNIT_BINS)
	sh tests/run.sh --unit

demo: deps
	$(MAKE) all
	sh tests/sandbox/demo.sh

bench: deps
	$(MAKE) all $(BENCH_BINS)
	sh tests/bench/run.sh

man-check:
	@for m in man/*.[0-9]; do \
	    out=$$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 groff -ww -z -man -Tutf8 $$m 2>&1); \
	    if [ -n "$$out" ]; then echo "$$m: $$out"; exit 1; fi; done; echo "man pages: no warnings"

install: lakeop
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 lakeop $(DESTDIR)$(PREFIX)/bin/lakeop
	install -m 644 man/lakeop.1 $(DESTDIR)$(PREFIX)/share/man/man1/lakeop.1
	install -m 644 man/lakeop.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/lakeop.conf.5

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lakeop $(DESTDIR)$(PREFIX)/share/man/man1/lakeop.1 \
	      $(DESTDIR)$(PREFIX)/share/man/man5/lakeop.conf.5

clean:
	rm -rf build lakeop core/migrations_sql.h

-include $(shell find build -name '*.d' 2>/dev/null)
