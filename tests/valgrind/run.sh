#!/bin/sh
# Runs integration tests against crmd under valgrind.  Valgrind cannot run
# the ASan build, so this builds a plain crmd beside it first.  The
# delivery ones run the transport threads (curlthread.c).  Any memory
# error or leak makes crmd exit 99, which the tests see as a failed stop.
set -eu
src=$1 bin=$2 crmctl=$3
plain=$bin/valgrind-build
cmake -S "$src" -B "$plain" -DCRMD_SANITIZE=OFF -DCRMD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$plain" --target crmd -j2 >/dev/null
cat > "$plain/crmd-valgrind" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect "$plain/daemon/crmd" "\$@"
WRAP
chmod +x "$plain/crmd-valgrind"
cd "$src/tests/integration"
# The dry-run tests on fewer customers: valgrind is ~30x slower.  Not the
# ones whose premise is a dry run still running when other requests
# arrive: valgrind runs one thread at a time, so the dry runs may finish
# first (the one counting refusals of 12 simultaneous tests; and, once in
# CI, the one answering ping and status during a dry run).  The ASan
# suite runs them all.
CRMD_BIN=$plain/crmd-valgrind CRMCTL_BIN=$crmctl PYTHONDONTWRITEBYTECODE=1 \
CRMD_IT_DRYRUN_CUSTOMERS=60000 \
exec /usr/bin/python3 -m unittest -v \
    test_lifecycle.Lifecycle.test_status_json_keys \
    test_lifecycle.Lifecycle.test_reload_applies_a_valid_config \
    test_lifecycle.Lifecycle.test_broken_reload_keeps_old_config \
    test_lifecycle.Lifecycle.test_sigterm_exits_zero_and_removes_socket \
    test_robustness.Robustness.test_garbage_gets_400_and_close \
    test_robustness.Robustness.test_oversized_request_413_and_close \
    test_robustness.Robustness.test_pipelined_requests_all_answered \
    test_reminders.Engine \
    test_reminders.Digest \
    test_reminder_cmds \
    test_delivery_basic.ThreeChannels \
    test_delivery_basic.OneEmailConnection \
    test_rule_test_offload.RuleTestOffload.test_requests_on_one_connection_are_answered_in_order \
    test_rule_test_offload.RuleTestOffload.test_rule_tests_at_once_get_the_answers_they_get_alone \
    test_rule_test_offload.RuleTestOffload.test_a_client_hanging_up_cancels_its_dry_run \
    test_rule_test_offload.RuleTestOffload.test_a_reload_during_a_dry_run_does_not_disturb_it \
    test_rule_test_offload.RuleTestOffload.test_sigterm_during_dry_runs_answers_stopping_and_exits
