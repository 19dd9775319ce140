#!/bin/sh
# The unit suites (cmocka: store, time, conf, templates, mail, gateway,
# outbox, rules, crmctl, and curlev/curlthread against a real HTTP server)
# under valgrind.  Valgrind cannot run the ASan build, so this builds them
# plainly beside it, with valgrind as CMake's test launcher
# (CMAKE_CROSSCOMPILING_EMULATOR prefixes every test whose command is a
# built target), and runs only those tests.  Any memory error or definite
# leak exits 99 and fails its test.
set -eu
src=$1 bin=$2
plain=$bin/valgrind-units
emu="valgrind;-q;--error-exitcode=99;--leak-check=full"
emu="$emu;--show-leak-kinds=definite,indirect"
emu="$emu;--errors-for-leak-kinds=definite,indirect"
cmake -S "$src" -B "$plain" -DCRMD_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CROSSCOMPILING_EMULATOR=$emu" >/dev/null
cmake --build "$plain" -j2 >/dev/null
cd "$plain"
# The tests valgrind wraps: those whose command is a unit-test binary.
tests=$(ctest --show-only=json-v1 | /usr/bin/python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    c = t.get("command") or []
    if c and c[0].endswith("valgrind") and \
            not t["name"].endswith(".valgrind") and \
            any("/test_" in a for a in c[1:]):
        print(t["name"])')
[ -n "$tests" ] || { echo "units.sh: no unit tests found" >&2; exit 1; }
regex="^($(echo "$tests" | sed 's/\./\\./g' | paste -sd '|'))\$"
echo "$(echo "$tests" | wc -l) unit tests under valgrind"
exec ctest -R "$regex" --output-on-failure
