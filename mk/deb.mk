# make deb: the Debian package (debian/), lintian-clean, in build/deb/:
# b24hook_VERSION_ARCH.deb (and its -dbgsym).  dpkg-buildpackage -us -uc
# -b runs on a clean copy of the tree in build/deb/src (the files git
# tracks or would track: never build/), so the working tree's own build
# stays as it is.  Installs what it needs (scripts/deps.d/deb.txt).
# Tested by tests/e2e/test_deb.sh, which installs and runs the package.
#
# make check-units: the Check suites alone (debian/rules runs them).
.PHONY: deb check-units

deb:
	@sh scripts/deps.sh scripts/deps.d/build.txt scripts/deps.d/core.txt \
	    scripts/deps.d/deb.txt
	rm -rf build/deb
	mkdir -p build/deb/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -co --exclude-standard | \
		    while IFS= read -r f; do [ ! -e "$$f" ] || echo "$$f"; done | \
		    tar -c -T - -f - | tar -x -C build/deb/src; \
	else \
		tar -c --exclude=./build -f - . | tar -x -C build/deb/src; \
	fi
	cd build/deb/src && dpkg-buildpackage -us -uc -b
	rm -rf build/deb/src
	@ls build/deb/*.deb

check-units: $(TEST_BIN)
	@rc=0; for t in $(TEST_BIN); do $$t || rc=1; done; exit $$rc
