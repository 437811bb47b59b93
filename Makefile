# turnpike — top-level, non-recursive Makefile.
#
#   make          build bin/turnpike and bin/turnpike-admin (installs missing
#                 build dependencies, runs autoreconf and configure on a
#                 fresh clone)
#   make run      build and run the server on a local configuration
#   make check    install test dependencies, build everything with
#                 AddressSanitizer + UndefinedBehaviorSanitizer, run every test
#   make fuzz     build the libFuzzer harnesses with clang (build/fuzz/)

.DEFAULT_GOAL := all
SHELL := /bin/bash

-include config.mk

# A fresh clone has no config.mk: install what the build needs, then
# autoreconf + configure write it, and make restarts with it included.
config.mk: configure.ac config.mk.in
	./scripts/deps.sh build
	autoreconf -i
	./configure

# VARIANT selects the object directory and sanitizer flags; `make check`
# runs a second make with VARIANT=asan.
VARIANT ?= release
O := build/$(VARIANT)
ifeq ($(VARIANT),release)
BINDIR := bin
else
BINDIR := $(O)/bin
endif

WARN := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wformat=2
OPT := -O2 -g
ifeq ($(ENABLE_DEBUG),yes)
OPT := -O0 -g
WARN += -Werror
endif
SAN :=
ifeq ($(VARIANT),asan)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
OPT := -O1 -g
endif
ifeq ($(ENABLE_ASAN),yes)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
endif

ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -Iinclude -I. \
	$(CPPFLAGS_CONF) $(DEPS_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(SAN) $(LDFLAGS_CONF) $(LDFLAGS)
LIBS_ALL := $(DEPS_LIBS) -lpthread

# Everything but the programs (src/main.c, src/admin.c) goes into one static
# library (STYLE.md).
LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
LIB := $(O)/libturnpike.a

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(O)/tests/replay_%)

# The benchmark's own load generators (bench/loadgen/, bench/README.md):
# every bench/loadgen/*.c but lg_util.c is one program, linked with
# lg_util.o and the library (they use its STUN codec).
BENCH_SRC := $(filter-out bench/loadgen/lg_util.c,$(sort $(wildcard bench/loadgen/*.c)))
BENCH_BIN := $(BENCH_SRC:bench/loadgen/%.c=$(O)/bench/%)

.PHONY: all run check test-build fuzz clean distclean bench bench-tools
all: config.mk $(BINDIR)/turnpike $(BINDIR)/turnpike-admin

$(O)/%.o: %.c config.mk
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BINDIR)/turnpike: $(O)/src/main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

# The user database tool, beside the server (tests find it there).
$(BINDIR)/turnpike-admin: $(O)/src/admin.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

$(O)/tests/test_%: $(O)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

# The plain replay driver runs each fuzz harness over its corpus, so old
# crashes stay fixed without clang.
$(O)/tests/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

$(O)/bench/%: $(O)/bench/loadgen/%.o $(O)/bench/loadgen/lg_util.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

bench-tools: all $(BENCH_BIN)

# Keep the programs' objects (make would delete them as intermediates).
.SECONDARY: $(BENCH_SRC:%.c=$(O)/%.o) $(O)/bench/loadgen/lg_util.o

test-build: all $(BINDIR)/turnpike $(BINDIR)/turnpike-admin $(UNIT_BIN) \
	$(REPLAY_BIN) $(BENCH_BIN)

run: all
	./scripts/run-local.sh $(BINDIR)/turnpike

# The suite runs under ASan + UBSan: a second make builds build/asan.
check: config.mk
	./scripts/deps.sh test
	$(MAKE) all
	$(MAKE) VARIANT=asan test-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	/usr/bin/python3 tests/run.py --build build/asan

# turnpike against coturn, a bare UDP forwarder and a Node ws server, one
# table (bench/README.md, doc/performance.md); not a test. BENCH_ARGS
# passes options, e.g. make bench BENCH_ARGS=--quick
bench: bench-tools
	./scripts/deps.sh test
	/usr/bin/python3 bench/run.py $(BENCH_ARGS)

# libFuzzer harnesses (clang): build/fuzz/fuzz_<name>, run e.g.
#   build/fuzz/fuzz_stun tests/fuzz/corpus/stun
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined \
	-Iinclude -I. $(CPPFLAGS_CONF) $(DEPS_CFLAGS)
fuzz: config.mk
	@mkdir -p build/fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(FUZZ_CFLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) \
	    $(LIBS_ALL) || exit 1; done

clean:
	rm -rf build bin

distclean: clean
	rm -rf config.mk config_auto.h config_auto.h.in config.log \
	  config.status configure autom4te.cache aclocal.m4 config_auto.h.in~

-include $(LIB_OBJ:.o=.d) $(O)/src/main.d $(O)/src/admin.d \
	$(UNIT_SRC:%.c=$(O)/%.d) $(FUZZ_SRC:%.c=$(O)/%.d) \
	$(O)/tests/fuzz/replay.d $(BENCH_SRC:%.c=$(O)/%.d) \
	$(O)/bench/loadgen/lg_util.d
