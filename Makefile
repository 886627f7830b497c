# b24hook: one GNU Makefile.  Dependencies from pkg-config; warnings are
# appended to the user's CFLAGS; objects in build/.
.DELETE_ON_ERROR:
.PHONY: all check deps demo install clean

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Wimplicit-fallthrough
# Hardening as Debian builds packages (dpkg-buildflags), added to the
# user's flags; a _FORTIFY_SOURCE of the user's own wins.  It needs -O1
# or more: for an -O0 build, say HARDEN_CPPFLAGS=.
HARDEN_CPPFLAGS ?= $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,\
	-D_FORTIFY_SOURCE=2)
# cc_flag: the flag when $(CC) takes it (-fcf-protection is x86's only)
cc_flag = $(shell $(CC) $(1) -Werror -c -x c -o /dev/null /dev/null \
	2>/dev/null && echo $(1))
HARDEN_CFLAGS ?= -fstack-protector-strong -fPIE \
	$(call cc_flag,-fstack-clash-protection) $(call cc_flag,-fcf-protection)
HARDEN_LDFLAGS ?= -pie -Wl,-z,relro,-z,now
LIB_PKGS = jansson libsodium
B24_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -iquote lib $(WARNINGS) \
	$(shell $(PKG_CONFIG) --cflags $(LIB_PKGS)) $(CURL_CFLAGS)
LIB_LIBS = $(shell $(PKG_CONFIG) --libs $(LIB_PKGS))
FCGI_LIBS = $(shell $(PKG_CONFIG) --libs fcgi)
# libcurl: lib/oauth.c only, which only b24hookctl links
CURL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcurl)
CURL_LIBS = $(shell $(PKG_CONFIG) --libs libcurl)
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=build/%.o)
CTL_SRC = $(wildcard ctl/*.c)
CTL_OBJ = $(CTL_SRC:%.c=build/%.o)
TEST_SRC = $(wildcard tests/check_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=build/tests/%) build/tests/b24hook-leak

all: build/b24hook build/b24hookctl

build/%.o: %.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(HARDEN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(HARDEN_CFLAGS) \
	    $(B24_CFLAGS) -c -o $@ $<

build/libb24hook.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

build/b24hook: build/cgi/b24hook.o build/libb24hook.a
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $^ \
	    $(FCGI_LIBS) $(LIB_LIBS)

# the operator's tool: never a CGI program, the only one that links libcurl
$(CTL_OBJ): $(wildcard ctl/*.h)

build/b24hookctl: $(CTL_OBJ) build/libb24hook.a
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $^ \
	    $(CURL_LIBS) $(LIB_LIBS)

build/tests/%.o: tests/%.c $(wildcard lib/*.h tests/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(B24_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

build/tests/check_%: build/tests/check_%.o build/tests/testutil.o \
    build/libb24hook.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIB_LIBS) $(CHECK_LIBS)

# the decoders' parity (tests/parity.h), shared with the fuzzers
build/tests/check_decode: build/tests/parity.o

# b24hook with a reference leaked in every request, for the arena's
# count of blocks not freed (tests/e2e/test_arena.sh)
build/tests/leak/request.o: lib/request.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(HARDEN_CPPFLAGS) $(CPPFLAGS) $(CFLAGS) $(HARDEN_CFLAGS) \
	    $(B24_CFLAGS) -DB24HOOK_TEST_LEAK -c -o $@ $<

build/tests/b24hook-leak: build/cgi/b24hook.o build/tests/leak/request.o \
    build/libb24hook.a
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) $(LDFLAGS) $(HARDEN_LDFLAGS) -o $@ $^ \
	    $(FCGI_LIBS) $(LIB_LIBS)

# Installs what is missing (Debian packages), builds, then runs every
# Check suite and every end-to-end test; the last line sums them up.
# Files in mk/ add targets to CHECK_MORE (sanitizers, fuzzing...).
check: deps
	$(MAKE) all $(TEST_BIN)
	@bash scripts/runtests.sh $(foreach t,$(CHECK_MORE),"$(MAKE) --no-print-directory $(t)")

deps:
	@sh scripts/deps.sh

demo:
	@sh scripts/deps.sh scripts/deps.d/build.txt
	$(MAKE) build/b24hook
	@sh scripts/demo.sh

install: build/b24hook build/b24hookctl
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 build/b24hook $(DESTDIR)$(BINDIR)/b24hook
	install -m 0755 build/b24hookctl $(DESTDIR)$(BINDIR)/b24hookctl

clean:
	rm -rf build

# Further targets (deployment recipes, hardening, benchmarks), one file each.
include $(wildcard mk/*.mk)
