#!/bin/sh
# Install what turnpike needs and is missing, from Debian's packages.
#   scripts/deps.sh build   compiler, autotools, libraries
#   scripts/deps.sh test    the above, plus the independent peers tests use
# Only missing packages are installed; a machine that has them all is untouched.
set -eu

build_pkgs="gcc make autoconf automake pkg-config libevent-dev libssl-dev openssl
libjansson-dev libsqlite3-dev"
# coturn: turnutils_stunclient / _uclient / _peer (the package's server is
# never started by tests); stun-client: `stun`; iproute2 + util-linux: network
# namespaces for tests that must bind every address; openssl: test certs;
# chromium + nodejs: browser tests (playwright-core from npm, see below).
test_pkgs="python3 coturn stun-client iproute2 util-linux openssl chromium
nodejs"

case "${1:-build}" in
build) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

updated=
install() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages: $*" >&2
		echo "deps: run as root, or: sudo apt-get install $*" >&2
		exit 1
	fi
	echo "deps: installing $*"
	export DEBIAN_FRONTEND=noninteractive
	[ -n "$updated" ] || apt-get update -qq
	updated=1
	apt-get install -y -qq --no-install-recommends "$@"
}

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# shellcheck disable=SC2086
[ -z "$missing" ] || install $missing
[ "${1:-build}" = test ] || exit 0

# Debian's nodejs comes without npm (package npm); NodeSource's ships it and
# conflicts with Debian's npm.
command -v npm >/dev/null || install npm
# tests/browser: playwright-core, exactly as package-lock.json pins it.
b="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
stamp="$b/node_modules/.package-lock.json"   # written by npm ci
if [ ! -f "$stamp" ] ||
    [ -n "$(find "$b/package-lock.json" -newer "$stamp")" ]; then
	echo "deps: npm ci in $b"
	(cd "$b" && npm ci --ignore-scripts --no-audit --no-fund)
fi
