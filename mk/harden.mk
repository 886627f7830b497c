# Hardening: fuzzing, sanitizers, memcheck (included by the Makefile).
#
#   make fuzz                     libFuzzer targets in build/fuzz/ (clang)
#   make fuzz-run FUZZ_SECONDS=N  runs each for N s (default 30); fails on
#                                 any crash, leak, timeout or sanitizer report
#   make sanitize                 every Check suite and end-to-end test
#                                 against an ASan+UBSan build (build/asan/)
#   make valgrind                 the end-to-end tests with build/b24hook
#                                 under memcheck: zero errors, zero leaks
#
# The fuzz targets link the lib/ sources, compiled again with clang and
# -fsanitize=fuzzer,address,undefined (not build/libb24hook.a).  The
# sanitize and valgrind trees are "shadow roots": build/<tree>/root holds
# links to the repository's files and a build/ of its own, so the
# Makefile, scripts/runtests.sh and tests/e2e/lib.sh run unchanged
# against another binary (tests/e2e/harden.sh makes them).
.PHONY: fuzz fuzz-run sanitize valgrind

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_TARGETS = form json event allowlist request appinfo spool
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
# lib/oauth.c (libcurl) is b24hookctl's alone: no target calls it
FUZZ_LIB_OBJ = $(patsubst lib/%.c,build/fuzz/lib/%.o,\
	$(filter-out lib/oauth.c,$(LIB_SRC)))

# clang: one runtime for ASan, UBSan and LSan, so all three honour the
# report path in fuzz/sanitizer_options.c (gcc's libubsan ignores it)
SAN_CC ?= clang
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS = -O1 -g -fno-omit-frame-pointer $(SAN_FLAGS)
SAN_ROOT = $(CURDIR)/build/asan/root
SAN_OPTS_OBJ = $(CURDIR)/build/asan/sanitizer_options.o

# The end-to-end tests each tree runs (names in tests/e2e, or "all"):
# by default those that drive b24hook itself (the deployment tests drive
# web servers around it: "all" runs them too, slower).  Under memcheck,
# each CGI request costs ~0.5 s of start-up, so there the hostile table
# goes through one FastCGI worker only (test_cgi covers plain CGI), with
# fewer token lengths, and the stress test sends fewer requests.  The
# sanitize tree also runs test_arena, against its own ASan build of
# build/tests/b24hook-leak (the valgrind tree has no build/tests; the
# test runs memcheck itself).
RESPONDER_E2E = test_cgi test_fastcgi test_hostile test_faults test_stress
SANITIZE_E2E ?= $(RESPONDER_E2E) test_arena
VALGRIND_E2E ?= $(RESPONDER_E2E)
VALGRIND_ENV ?= STRESS_REQUESTS=25 HOSTILE_MODES=fcgi HOSTILE_TOKEN_MAX=40 \
	FAULTS_KILL_MB=8

CHECK_MORE += fuzz-run sanitize valgrind

build/fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(B24_CFLAGS) \
	    -c -o $@ $<

# the responder's own main, renamed so fuzz_request can call it
build/fuzz/cgi/b24hook.o: cgi/b24hook.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(B24_CFLAGS) \
	    -Wno-missing-prototypes -Dmain=b24hook_main -c -o $@ $<

build/fuzz/fuzz_request: fuzz/fuzz_request.c build/fuzz/cgi/b24hook.o \
    $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(B24_CFLAGS) -o $@ $^ \
	    $(FCGI_LIBS) $(LIB_LIBS)

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(B24_CFLAGS) -o $@ $^ \
	    $(LIB_LIBS)

# the decoders' parity (tests/parity.h), which fuzz_form and fuzz_json check
build/fuzz/tests/parity.o: tests/parity.c tests/parity.h $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(B24_CFLAGS) \
	    -c -o $@ $<

build/fuzz/fuzz_form build/fuzz/fuzz_json: build/fuzz/tests/parity.o

fuzz: deps
	$(MAKE) $(FUZZ_BIN)

fuzz-run: fuzz
	@bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Reports go to files (tests start the responder with env -i and count
# its stderr lines); any report fails the target.
build/asan/sanitizer_options.o: fuzz/sanitizer_options.c
	@mkdir -p $(@D)/reports
	$(SAN_CC) -O1 -g $(B24_CFLAGS) \
	    -DSANITIZE_REPORTS='"$(CURDIR)/build/asan/reports"' -c -o $@ $<

sanitize: deps build/asan/sanitizer_options.o
	@bash tests/e2e/harden.sh shadow $(SAN_ROOT) $(SANITIZE_E2E)
	@echo "$(SAN_CC) $(SAN_CFLAGS)" | cmp -s - build/asan/flags || \
	    { rm -rf $(SAN_ROOT)/build; mkdir -p $(SAN_ROOT)/build; \
	    echo "$(SAN_CC) $(SAN_CFLAGS)" >build/asan/flags; }
	$(MAKE) -C $(SAN_ROOT) CC=$(SAN_CC) CFLAGS="$(SAN_CFLAGS)" \
	    LDFLAGS="$(SAN_FLAGS) $(SAN_OPTS_OBJ)" HARDEN_CPPFLAGS= \
	    build/b24hook build/b24hookctl $(TEST_BIN)
	@bash tests/e2e/harden.sh sanitize $(SAN_ROOT) $(CURDIR)/build/asan

valgrind: deps build/b24hook build/b24hookctl
	@bash tests/e2e/harden.sh shadow $(CURDIR)/build/valgrind/root \
	    $(VALGRIND_E2E)
	@env $(VALGRIND_ENV) bash tests/e2e/harden.sh valgrind \
	    $(CURDIR)/build/valgrind/root $(CURDIR)/build/valgrind \
	    $(CURDIR)/build/b24hook
