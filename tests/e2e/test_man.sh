#!/bin/bash
# The manual pages of man/: mandoc -T lint finds nothing, not even at its
# style level; every page has the sections an admin looks for; they name
# every setting the programs read (lib/request.h's struct settings) and
# every command of b24hookctl's usage text; make install puts them under
# MANDIR and make uninstall takes them away.
# Run from anywhere: bash tests/e2e/test_man.sh
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TEST_NAME=test_man
MAN=$E2E_ROOT/man
PAGES="b24hook.8 b24hookctl.8 b24hook.conf.5"

# Style messages allowed, as an extended regex on mandoc's message (none
# today: every page lints clean; add one here with the reason it cannot
# be avoided).
ALLOWED_STYLE='^$'

command -v mandoc >/dev/null || {
	fail "mandoc installed (scripts/deps.d/deb.txt: make deps)"
	finish $TEST_NAME
}
e2e_setup

# sections PAGE: the .Sh headings of PAGE, one a line.
sections() { sed -n 's/^\.Sh //p' "$MAN/$1" | tr -d '"'; }

test_lint() {
	local page out
	# Cross-references between the three pages resolve through a manual
	# tree of their own, searched before the system's.
	mkdir -p "$T/man/man5" "$T/man/man8"
	for page in $PAGES; do
		cp "$MAN/$page" "$T/man/man${page##*.}/"
	done
	for page in $PAGES; do
		check "$page exists" test -f "$MAN/$page"
		out=$(MANPATH="$T/man:/usr/share/man" mandoc -T lint -W style \
		    "$MAN/$page" 2>&1 | grep -v 'outdated mandoc.db' |
		    grep -vE "STYLE: ($ALLOWED_STYLE)")
		assert_eq "mandoc -T lint -W style $page: no message" "" "$out"
		check "$page is mdoc (.Dd, .Dt, .Os)" \
		    grep -q '^\.Os' "$MAN/$page"
		assert_eq "$page: the sections, in order" \
		    "NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES EXIT STATUS EXAMPLES SEE ALSO" \
		    "$(sections "$page" | paste -sd ' ')"
		check "$page renders (mandoc -T utf8)" \
		    mandoc -T utf8 "$MAN/$page"
	done
}

# Every setting the programs read is documented, in b24hook.conf(5) and in
# the ENVIRONMENT of both programs' pages.
test_settings() {
	local s page missing
	local settings
	settings=$(sed -n '/^struct settings {/,/^};/p' "$E2E_ROOT/lib/request.h" |
	    grep -o 'B24HOOK_[A-Z_]*[A-Z]' | LC_ALL=C sort -u)
	check "lib/request.h names the settings" test -n "$settings"
	for page in b24hook.conf.5 b24hook.8 b24hookctl.8; do
		missing=
		for s in $settings; do
			case $page in
			b24hookctl.8) [ "$s" != B24HOOK_MAX_BODY ] &&
			    [ "$s" != B24HOOK_FSYNC ] || continue ;;
			esac
			sed -n '/^\.Sh ENVIRONMENT/,/^\.Sh /p;/^\.Ss Settings/,/^\.S[sh] /p' \
			    "$MAN/$page" | grep -qw "$s" || missing="$missing $s"
		done
		assert_eq "$page documents every setting" "" "$missing"
	done
}

# Every command of b24hookctl's usage text (ctl/b24hookctl.c) is in the
# SYNOPSIS of b24hookctl(8), and the SYNOPSIS has no other.
test_commands() {
	local usage synopsis
	usage=$(cat "$E2E_ROOT"/ctl/*.c |
	    sed -n 's/^[[:space:]]*"\(usage:\)\{0,1\}[[:space:]]*b24hookctl \([a-z][a-z ]*[a-z]\).*/\2/p' |
	    awk '{ print $1, ($2 ~ /^[a-z]+$/ ? $2 : "") }' | sed 's/ $//' |
	    LC_ALL=C sort -u)
	synopsis=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh /p' "$MAN/b24hookctl.8" |
	    sed -n 's/^\.Cm //p' | LC_ALL=C sort -u)
	check "the usage text names commands" test -n "$usage"
	assert_eq "b24hookctl(8) SYNOPSIS: the usage text's commands" \
	    "$(paste -sd , <<<"$usage")" "$(paste -sd , <<<"$synopsis")"
}

# make install MANDIR=...: the pages in man5/ and man8/; make uninstall
# takes them away again.
test_install() {
	local dest=$T/dest page
	if ! make -s -C "$E2E_ROOT" install DESTDIR="$dest" PREFIX=/usr \
	    >"$T/run/install.out" 2>&1; then
		fail "make install DESTDIR=... PREFIX=/usr" \
		    "$(tail -n 3 "$T/run/install.out")"
		return
	fi
	for page in $PAGES; do
		check "make install: $page in share/man/man${page##*.}" \
		    test -f "$dest/usr/share/man/man${page##*.}/$page"
	done
	check_not "installed pages name no /usr/local" \
	    grep -rl /usr/local "$dest/usr/share/man"
	check "installed b24hook(8) names /usr/bin/b24hook" \
	    grep -q /usr/bin/b24hook "$dest/usr/share/man/man8/b24hook.8"
	make -s -C "$E2E_ROOT" uninstall DESTDIR="$dest" PREFIX=/usr \
	    >"$T/run/uninstall.out" 2>&1
	assert_eq "make uninstall: no page left" "" \
	    "$(find "$dest" -type f -name '*.[58]' -printf '%f ')"
}

test_lint
test_settings
test_commands
test_install
finish $TEST_NAME
