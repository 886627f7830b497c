# make bench: b24hook against a minimal libfcgi floor, that floor plus
# b24hook's own system calls (floor_io) and PHP under php-fpm behind
# nginx, per-request CGI through fcgiwrap against a minimal C CGI, the
# in-process pipeline against PHP, callgrind instruction counts and the
# worker's RSS over a sustained run (bench/README.md).
# Installs what it needs (bench/packages.txt), builds into build/bench/.
.PHONY: bench

BENCH_SECONDS ?= 10
BENCH_ROUNDS ?= 3
BENCH_SUSTAIN ?= 1000000
BENCH_INPROC_SECONDS ?= 1

BENCH_BIN = build/bench/floor build/bench/floor_io build/bench/floor_cgi \
	build/bench/pipeline build/bench/b24hook-static

build/bench/floor: bench/floor.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(B24_CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(FCGI_LIBS)

# floor_io takes b24hook's stop signals and file modes from lib/sink.h
build/bench/floor_io: bench/floor_io.c $(wildcard lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(B24_CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(FCGI_LIBS)

build/bench/floor_cgi: bench/floor_cgi.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(B24_CFLAGS) $(LDFLAGS) -o $@ $<

build/bench/pipeline: bench/pipeline.c build/libb24hook.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(B24_CFLAGS) $(LDFLAGS) -o $@ $^ \
	    $(LIB_LIBS)

# b24hook with libfcgi, jansson and libsodium linked in statically: for
# comparison only (CGI start-up: bench/README.md)
build/bench/b24hook-static: build/cgi/b24hook.o build/libb24hook.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -Wl,-Bstatic $(FCGI_LIBS) \
	    $(LIB_LIBS) -Wl,-Bdynamic

bench: deps
	@sh scripts/deps.sh bench/packages.txt
	$(MAKE) build/b24hook $(BENCH_BIN)
	@BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) \
	    BENCH_SUSTAIN=$(BENCH_SUSTAIN) \
	    BENCH_INPROC_SECONDS=$(BENCH_INPROC_SECONDS) bash bench/run.sh
