#!/bin/sh
# Installs the Debian 12 packages crmd needs: `deps.sh` for building and
# running, `deps.sh --test` also for the test suite.  Uses sudo when not
# root; does nothing when everything is already installed.
set -eu

pkgs="build-essential cmake pkg-config libevent-dev libsqlite3-dev
libcurl4-openssl-dev libconfig-dev libinih-dev libjansson-dev libical-dev
libsystemd-dev sqlite3 tzdata"
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs libcmocka-dev python3 python3-aiosmtpd systemd util-linux
valgrind libfaketime"
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps.sh: installing$missing" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
