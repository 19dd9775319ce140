#!/bin/sh
# Installs what the benchmark needs beyond crmd's own build dependencies
# (scripts/deps.sh): Debian's redis-server for the BullMQ side, and BullMQ
# itself into bench/node_modules from the committed package-lock.json.
# For the delivery benchmark: Debian's postfix (smtp-source, smtp-sink),
# nginx, wrk and python3-aiosmtpd.  Does nothing that is already done.
#
#   bench/deps.sh [reminders] [delivery]     (default: both)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
what=" ${*:-reminders delivery} "

"$here/../scripts/deps.sh"

# The delivery peers.  The bench starts its own smtp-sink and nginx on
# free loopback ports; the packages' own services are never wanted, so
# postfix is installed unconfigured and whatever the packages started is
# stopped and disabled (only for packages installed here: an admin's own
# Postfix is left alone).
case $what in
*" delivery "*)
	missing=""
	for p in postfix nginx wrk python3-aiosmtpd openssl util-linux; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		echo "bench/deps.sh: installing$missing" >&2
		echo "postfix postfix/main_mailer_type select No configuration" |
		    $sudo debconf-set-selections
		$sudo apt-get update -qq
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		    --no-install-recommends $missing >/dev/null
		for svc in postfix nginx; do
			case $missing in *" $svc"*) ;; *) continue ;; esac
			if [ -d /run/systemd/system ]; then
				$sudo systemctl disable --now "$svc" \
				    >/dev/null 2>&1 || true
			elif [ -x "/etc/init.d/$svc" ]; then
				$sudo "/etc/init.d/$svc" stop >/dev/null 2>&1 ||
				    true
				$sudo update-rc.d "$svc" disable \
				    >/dev/null 2>&1 || true
			fi
		done
	fi
	;;
esac
case $what in
*" reminders "*) ;;
*) exit 0 ;;
esac

# Installs one Debian package, quietly.
apt_install() {
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "bench/deps.sh: installing $1" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
	    --no-install-recommends "$1" >/dev/null
}

# perf tells the daemon's wake-ups from its waits for the disk (the
# reminders benchmark's wake-ups per external commit).
command -v perf >/dev/null 2>&1 || apt_install linux-perf

if ! command -v redis-server >/dev/null 2>&1 &&
    [ ! -x /usr/bin/redis-server ]; then
	apt_install redis-server
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
