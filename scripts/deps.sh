#!/bin/sh
# Installs the Debian packages b24hook needs to build, test and demo, when
# any is missing: every package named in scripts/deps.d/*.txt, or in the
# list files given as arguments (one package per line, '#' comments).
# Debian 12; needs root only when something is missing.
set -eu
[ $# -gt 0 ] || set -- "$(dirname "$0")"/deps.d/*.txt

missing=
for p in $(sed 's/#.*//' "$@"); do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
	    grep -qx installed || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; as root run: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
