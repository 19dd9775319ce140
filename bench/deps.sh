#!/bin/sh
# Installs what the benchmark needs beyond crmd's own build dependencies
# (scripts/deps.sh): Debian's redis-server for the BullMQ side, and BullMQ
# itself into bench/node_modules from the committed package-lock.json.
# Does nothing that is already done.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

"$here/../scripts/deps.sh"

if ! command -v redis-server >/dev/null 2>&1 &&
    [ ! -x /usr/bin/redis-server ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "bench/deps.sh: installing redis-server" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    --no-install-recommends redis-server >/dev/null
fi

for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "bench/deps.sh: $tool (Node.js 18 or newer) is needed" >&2
		exit 1
	}
done

# npm ci is exact and repeatable; skip it when the lock file has not
# changed since the last install.
stamp="$here/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
	echo "bench/deps.sh: npm ci" >&2
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
