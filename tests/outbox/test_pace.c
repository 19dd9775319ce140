/*
 * pace.h as a specification: a token bucket refills at its rate up to its
 * burst; a destination that stops answering is down until a backoff that
 * grows with each failed probe, with exactly one probe claimable at a
 * time; the retry backoff doubles from min to max with bounded jitter.
 * The clock is a number the test chooses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pace.h"

#define T0	1767225600000LL		/* 2026-01-01 00:00:00 UTC, ms */

/* -- token bucket ------------------------------------------------------ */

static void
test_unlimited_bucket_never_runs_dry(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 0, 0, T0);
	assert_int_equal(pace_bucket_avail(&b, T0), INT32_MAX);
	pace_bucket_spend(&b, 1000000);
	assert_int_equal(pace_bucket_avail(&b, T0), INT32_MAX);
	assert_int_equal(pace_bucket_ready_at(&b, T0), T0);
}

static void
test_new_bucket_starts_full(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 10, 5, T0);
	assert_int_equal(pace_bucket_avail(&b, T0), 5);
}

static void
test_burst_defaults_to_rate_and_at_least_one(void **state)
{
	struct pace_bucket a = { 0 }, b = { 0 };

	pace_bucket_set(&a, 20, 0, T0);
	assert_int_equal(pace_bucket_avail(&a, T0), 20);
	pace_bucket_set(&b, 0.3, 0, T0);
	assert_int_equal(pace_bucket_avail(&b, T0), 1);
}

static void
test_bucket_refills_at_its_rate(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 10, 10, T0);
	pace_bucket_spend(&b, pace_bucket_avail(&b, T0));
	assert_int_equal(pace_bucket_avail(&b, T0), 0);
	/* One token per 100 ms. */
	assert_int_equal(pace_bucket_ready_at(&b, T0), T0 + 100);
	assert_int_equal(pace_bucket_avail(&b, T0 + 99), 0);
	assert_int_equal(pace_bucket_avail(&b, T0 + 100), 1);
	assert_int_equal(pace_bucket_avail(&b, T0 + 350), 3);
}

static void
test_bucket_never_holds_more_than_burst(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 10, 4, T0);
	pace_bucket_spend(&b, 4);
	assert_int_equal(pace_bucket_avail(&b, T0 + 3600 * 1000), 4);
}

static void
test_slow_rate_waits_seconds(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 0.5, 1, T0);	/* one every 2 s */
	pace_bucket_spend(&b, 1);
	assert_int_equal(pace_bucket_ready_at(&b, T0), T0 + 2000);
	assert_int_equal(pace_bucket_avail(&b, T0 + 1999), 0);
	assert_int_equal(pace_bucket_avail(&b, T0 + 2000), 1);
}

static void
test_clock_stepping_back_adds_nothing(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 10, 10, T0);
	pace_bucket_spend(&b, 10);
	assert_int_equal(pace_bucket_avail(&b, T0 - 60000), 0);
	/* Accrual resumes from the new reading, not from the old one. */
	assert_int_equal(pace_bucket_avail(&b, T0 - 60000 + 200), 2);
}

static void
test_reconfigured_bucket_keeps_tokens_within_new_burst(void **state)
{
	struct pace_bucket b = { 0 };

	pace_bucket_set(&b, 10, 10, T0);
	pace_bucket_spend(&b, 8);		/* 2 left */
	pace_bucket_set(&b, 100, 50, T0);
	assert_int_equal(pace_bucket_avail(&b, T0), 2);
	pace_bucket_set(&b, 1, 1, T0);
	assert_int_equal(pace_bucket_avail(&b, T0), 1);
}

/* -- destination state ------------------------------------------------- */

static void
test_destination_up_allows_anything(void **state)
{
	struct pace_dest d = { 0 };

	assert_int_equal(pace_dest_allow(&d, T0), PACE_ANY);
}

static void
test_failure_takes_destination_down_for_backoff_min(void **state)
{
	struct pace_dest d = { 0 };

	assert_int_equal(pace_dest_failed(&d, 0, T0, 0, 5, 100, 0), 1);
	assert_int_equal(pace_dest_allow(&d, T0), PACE_NONE);
	assert_int_equal(pace_dest_allow(&d, T0 + 4999), PACE_NONE);
	assert_int_equal(pace_dest_allow(&d, T0 + 5000), PACE_PROBE);
}

static void
test_only_one_probe_at_a_time(void **state)
{
	struct pace_dest d = { 0 };

	pace_dest_failed(&d, 0, T0, 0, 5, 100, 0);
	assert_int_equal(pace_dest_allow(&d, T0 + 5000), PACE_PROBE);
	pace_dest_probe(&d);
	assert_int_equal(pace_dest_allow(&d, T0 + 5000), PACE_NONE);
	assert_int_equal(pace_dest_allow(&d, T0 + 3600000), PACE_NONE);
}

static void
test_failed_probes_double_the_interval_up_to_max(void **state)
{
	struct pace_dest d = { 0 };
	int64_t t = T0;
	int64_t expect[] = { 5, 10, 20, 40, 60, 60 };

	pace_dest_failed(&d, 0, t, 0, 5, 60, 0);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		assert_int_equal(d.until_ms - t, expect[i] * 1000);
		t = d.until_ms;
		assert_int_equal(pace_dest_allow(&d, t), PACE_PROBE);
		pace_dest_probe(&d);
		assert_int_equal(pace_dest_failed(&d, 1, t, 0, 5, 60, 0), 0);
	}
}

static void
test_stragglers_do_not_extend_the_wait(void **state)
{
	struct pace_dest d = { 0 };
	int64_t until;

	pace_dest_failed(&d, 0, T0, 0, 5, 100, 0);
	until = d.until_ms;
	/* Transfers that started before it went down fail too. */
	assert_int_equal(pace_dest_failed(&d, 0, T0 + 1000, 0, 5, 100, 0), 0);
	assert_int_equal(pace_dest_failed(&d, 0, T0 + 2000, 0, 5, 100, 0), 0);
	assert_int_equal(d.until_ms, until);
	assert_int_equal(d.failures, 1);
}

static void
test_retry_after_beyond_backoff_is_respected(void **state)
{
	struct pace_dest d = { 0 };

	pace_dest_failed(&d, 0, T0, T0 + 120000, 5, 100, 0);
	assert_int_equal(pace_dest_allow(&d, T0 + 119999), PACE_NONE);
	assert_int_equal(pace_dest_allow(&d, T0 + 120000), PACE_PROBE);
}

static void
test_answer_brings_destination_up(void **state)
{
	struct pace_dest d = { 0 };

	pace_dest_failed(&d, 0, T0, 0, 5, 100, 0);
	pace_dest_probe(&d);
	assert_int_equal(pace_dest_ok(&d), 1);
	assert_int_equal(pace_dest_allow(&d, T0), PACE_ANY);
	assert_int_equal(pace_dest_ok(&d), 0);
	/* A later outage starts from the minimum again. */
	pace_dest_failed(&d, 0, T0, 0, 5, 100, 0);
	assert_int_equal(d.until_ms - T0, 5000);
}

static void
test_lost_probe_allows_another_at_once(void **state)
{
	struct pace_dest d = { 0 };

	pace_dest_failed(&d, 0, T0, 0, 5, 100, 0);
	pace_dest_probe(&d);
	pace_dest_probe_lost(&d);	/* e.g. an invalid address */
	assert_int_equal(pace_dest_allow(&d, T0 + 5000), PACE_PROBE);
	assert_true(d.down);
}

/* -- backoff ------------------------------------------------------------ */

static void
test_backoff_doubles_from_min_to_max(void **state)
{
	assert_int_equal(pace_backoff(1, 300, 4000, 0), 300);
	assert_int_equal(pace_backoff(2, 300, 4000, 0), 600);
	assert_int_equal(pace_backoff(3, 300, 4000, 0), 1200);
	assert_int_equal(pace_backoff(4, 300, 4000, 0), 2400);
	assert_int_equal(pace_backoff(5, 300, 4000, 0), 4000);
	assert_int_equal(pace_backoff(50, 300, 4000, 0), 4000);
}

static void
test_backoff_survives_absurd_attempt_counts(void **state)
{
	assert_int_equal(pace_backoff(INT64_MAX, 1, INT64_MAX / 2, 0),
	    INT64_MAX / 2);
	assert_int_equal(pace_backoff(1000000, 1, 30 * 86400, 0.99),
	    30 * 86400);
}

static void
test_jitter_adds_at_most_a_quarter_within_bounds(void **state)
{
	for (int n = 1; n <= 12; n++)
		for (double r = 0; r < 1; r += 0.125) {
			int64_t base = pace_backoff(n, 300, 4000, 0);
			int64_t d = pace_backoff(n, 300, 4000, r);

			assert_true(d >= base);
			assert_true(d <= base + base / 4);
			assert_true(d >= 300 && d <= 4000);
		}
	assert_int_equal(pace_backoff(1, 400, 4000, 0.5), 450);
}

static void
test_backoff_with_degenerate_config(void **state)
{
	/* max below min, or zero: the minimum, never zero. */
	assert_int_equal(pace_backoff(3, 10, 5, 0), 10);
	assert_int_equal(pace_backoff(1, 0, 0, 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited_bucket_never_runs_dry),
		cmocka_unit_test(test_new_bucket_starts_full),
		cmocka_unit_test(test_burst_defaults_to_rate_and_at_least_one),
		cmocka_unit_test(test_bucket_refills_at_its_rate),
		cmocka_unit_test(test_bucket_never_holds_more_than_burst),
		cmocka_unit_test(test_slow_rate_waits_seconds),
		cmocka_unit_test(test_clock_stepping_back_adds_nothing),
		cmocka_unit_test(
		    test_reconfigured_bucket_keeps_tokens_within_new_burst),
		cmocka_unit_test(test_destination_up_allows_anything),
		cmocka_unit_test(
		    test_failure_takes_destination_down_for_backoff_min),
		cmocka_unit_test(test_only_one_probe_at_a_time),
		cmocka_unit_test(
		    test_failed_probes_double_the_interval_up_to_max),
		cmocka_unit_test(test_stragglers_do_not_extend_the_wait),
		cmocka_unit_test(test_retry_after_beyond_backoff_is_respected),
		cmocka_unit_test(test_answer_brings_destination_up),
		cmocka_unit_test(test_lost_probe_allows_another_at_once),
		cmocka_unit_test(test_backoff_doubles_from_min_to_max),
		cmocka_unit_test(test_backoff_survives_absurd_attempt_counts),
		cmocka_unit_test(
		    test_jitter_adds_at_most_a_quarter_within_bounds),
		cmocka_unit_test(test_backoff_with_degenerate_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
