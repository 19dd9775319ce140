"""Wall-clock steps (NTP corrections) through the real daemon: no
duplicates, no bursts.  crmd's wall clock is stepped with libfaketime,
never the system's: crmd runs with libfaketime preloaded, reading its
offset from a file this test rewrites (FAKETIME_NO_CACHE: every clock
read sees the current offset).  CLOCK_REALTIME and time() move;
CLOCK_MONOTONIC does not (FAKETIME_DONT_FAKE_MONOTONIC), as in a real
step, so libevent's timers keep running on real elapsed time.

The kernel never sees these steps, so the timerfd with
TFD_TIMER_CANCEL_ON_SET that reports a real step stays silent.  crmd then
acts on the step at its next work pass: when its one timer, armed on the
monotonic clock before the step, expires, or when another process
commits.  The tests below let the armed timer do it: each arms crmd for a
reminder due a few seconds later, then steps.  What must hold is asserted
from the database, which the CRM side (this process, real clock) reads.

Needs Debian's libfaketime (scripts/deps.sh --test)."""
import datetime
import os
import subprocess
import sys
import time
import unittest
from zoneinfo import ZoneInfo

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
TZ = ZoneInfo("Asia/Shanghai")
ALWAYS_OPEN = ('working_hours = { days = ["sun", "mon", "tue", "wed", "thu",'
               ' "fri", "sat"]; start = "00:00"; end = "24:00"; };\n')
HOUR = 3600
PACE = 6        # s from arming crmd's timer to its expiry, after the step


class FakeClock:
    """crmd's wall clock: the real one plus an offset, changed at will."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "faketime.rc")
        self.offset = 0
        self.set(0)

    def set(self, offset):
        # Renamed into place: libfaketime never reads a half-written file.
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%+d\n" % offset)
        os.replace(tmp, self.path)
        self.offset = offset

    def step(self, seconds):
        self.set(self.offset + seconds)

    def now(self):
        """crmd's time, in Unix seconds."""
        return int(time.time()) + self.offset

    def env(self):
        asan = os.environ.get("ASAN_OPTIONS", "")
        return {
            "LD_PRELOAD": LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE": self.path,
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # ASan wants to be the first library; libfaketime is.
            "ASAN_OPTIONS": (asan + ":" if asan else "")
            + "verify_asan_link_order=0",
        }


def probe(clock):
    """The clocks a process sees under clock.env(): (realtime, time(),
    monotonic), read by a Python child."""
    code = ("import time; print(time.clock_gettime(time.CLOCK_REALTIME), "
            "time.time(), time.clock_gettime(time.CLOCK_MONOTONIC))")
    env = dict(os.environ)
    env.update(clock.env())
    r = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                       capture_output=True, text=True, timeout=30)
    return [float(x) for x in r.stdout.split()]


class ClockStep(DaemonTest):

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(LIBFAKETIME):
            raise AssertionError(LIBFAKETIME + " is missing: install "
                                 "libfaketime (scripts/deps.sh --test)")

    def setUp(self):
        # The digest is 12 hours away from now, so no step here reaches it
        # and the next event is always a reminder.
        digest = (datetime.datetime.now(TZ)
                  + datetime.timedelta(hours=12)).strftime("%H:%M")
        self.extra_conf = (ALWAYS_OPEN + 'escalation = { after = "0s"; };\n'
                           'digest = { time = "%s"; };\n' % digest)
        # Registered first, so it runs last, once crmd is gone.
        self.addCleanup(self.remove_faketime_shm)
        super().setUp()
        self.clock = FakeClock(self.d.dir)
        self.d.start(env=self.clock.env())
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)
        self.u = self.crm.user()
        self.c = self.crm.customer(owner=self.u)

    def test_uptime_ignores_wall_clock_steps(self):
        def uptime():
            r = self.d.request({"v": 1, "cmd": "status"})
            return r["data"]["uptime_s"]
        self.clock.step(-HOUR)
        self.assertTrue(0 <= uptime() < 300, uptime())
        self.clock.step(3 * HOUR)
        self.assertTrue(0 <= uptime() < 300, uptime())

    # -- helpers --

    def remove_faketime_shm(self):
        """libfaketime leaves its shared memory behind when its process is
        killed, and a later process with the same pid then fails to
        start."""
        d = getattr(self, "d", None)
        if d is None or d.proc is None:
            return
        for name in ("faketime_shm_%d", "sem.faketime_sem_%d"):
            try:
                os.unlink(os.path.join("/dev/shm", name % d.proc.pid))
            except FileNotFoundError:
                pass

    def reminder(self, due):
        return self.crm.reminder(self.c, self.u, due, channels="inapp,email")

    def next_event(self):
        r = self.d.request({"v": 1, "cmd": "status"})
        return r["data"]["scheduler"]["next_event"]

    def armed_for(self, due):
        """Waits until crmd's one timer targets due: from then on, only the
        timer's expiry (monotonic) or a commit makes crmd look again."""
        wait_for(lambda: self.next_event() == due,
                 what="crmd to arm its timer for %d" % due)

    def row(self, rid):
        return dict(zip(("state", "due_at", "fired_at", "late", "fires"),
                        self.crm.q("SELECT state, due_at, fired_at, late, "
                                   "fire_count FROM reminders WHERE id = ?",
                                   (rid,))[0]))

    def messages(self, rid):
        """(notifications, outbox rows) the reminder produced."""
        return (self.crm.q1("SELECT count(*) FROM notifications WHERE "
                            "reminder_id = ?", (rid,)),
                self.crm.q1("SELECT count(*) FROM outbox WHERE "
                            "reminder_id = ?", (rid,)))

    def fired(self, rid, timeout=15):
        wait_for(lambda: self.crm.state(rid) == "fired", timeout=timeout,
                 what="reminder %d to fire" % rid)

    def assert_fired_once(self, rid):
        r = self.row(rid)
        self.assertEqual((r["state"], r["fires"]), ("fired", 1), r)
        self.assertEqual(self.messages(rid), (1, 1), "reminder %d" % rid)
        # The catch-up policy (fire.c): more than 60 s overdue is late.
        self.assertGreaterEqual(r["fired_at"], r["due_at"], r)
        self.assertEqual(r["late"], int(r["fired_at"] - r["due_at"] > 60), r)

    def settle(self):
        """A commit by the CRM, so crmd runs another pass with the stepped
        clock, then time for it to act on anything it would wrongly fire."""
        self.crm.customer(name="北京恒通贸易有限公司")
        time.sleep(1.5)

    # -- tests --

    def test_clocks_under_faketime(self):
        # The premise of this file: a step moves the wall clock, not the
        # monotonic one.
        real0, t0, mono0 = probe(self.clock)
        self.clock.step(2 * HOUR)
        real1, t1, mono1 = probe(self.clock)
        self.assertGreater(real1 - real0, 2 * HOUR - 5)
        self.assertGreater(t1 - t0, 2 * HOUR - 5)
        self.assertLess(mono1 - mono0, 30)
        self.assertLess(abs(t1 - time.time() - 2 * HOUR), 5)

    def test_forward_step_fires_each_once_and_no_burst(self):
        t0 = self.clock.now()
        t1 = t0 + 2 * HOUR          # crmd's clock just after the step
        # Due every 10 minutes over the two hours the step skips, the
        # first PACE seconds from now so that crmd's timer expires soon.
        skipped = [self.reminder(t0 + PACE)]
        skipped += [self.reminder(t0 + 600 * i) for i in range(1, 13)]
        # Due after the step: soon, later, much later.
        soon = self.reminder(t1 + PACE + 4)
        future = [self.reminder(t1 + 600), self.reminder(t1 + 1200)]
        self.armed_for(t0 + PACE)
        self.clock.step(2 * HOUR)
        for rid in skipped:
            self.fired(rid)
        for rid in skipped:
            self.assert_fired_once(rid)
            self.assertGreaterEqual(self.row(rid)["fired_at"], t1)
        # No burst: what is due after the new time waits for its time
        # (assert_fired_once: fired_at >= due_at, both in crmd's time).
        self.fired(soon, timeout=30)
        self.assert_fired_once(soon)
        self.assertEqual(self.row(soon)["late"], 0)
        self.settle()
        for rid in future:
            self.assertEqual(self.crm.state(rid), "pending")
            self.assertEqual(self.messages(rid), (0, 0))
        for rid in skipped + [soon]:
            self.assert_fired_once(rid)
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM audit_log WHERE action = 'reminder.fired'"),
            len(skipped) + 1)

    def test_backward_step_fires_nothing_again(self):
        t0 = self.clock.now()
        done = [self.reminder(t0), self.reminder(t0 + 1)]
        for rid in done:
            self.fired(rid)
        # crmd's timer targets `later`; after the step back it expires
        # two hours early in crmd's time and must not fire it.
        later_due = self.clock.now() + PACE
        later = self.reminder(later_due)
        self.armed_for(later_due)
        self.clock.step(-2 * HOUR)
        # Due seconds after the step in crmd's time, two hours ago by the
        # real clock: it fires when crmd's clock says so, not at once.
        soon = self.reminder(self.clock.now() + 3)
        self.fired(soon)
        self.assert_fired_once(soon)
        self.assertEqual(self.row(soon)["late"], 0)
        # The timer armed before the step has expired by now.
        wait_for(lambda: time.time() > later_due + 1, timeout=30,
                 what="later's due instant to pass in real time")
        self.settle()
        self.assertEqual(self.crm.state(later), "pending")
        self.assertEqual(self.messages(later), (0, 0))
        self.assertEqual(self.next_event(), later_due)
        for rid in done:
            self.assert_fired_once(rid)

    def test_plan_catches_up_once(self):
        # Every 10 minutes; the first occurrence arms crmd's timer.  The
        # step is not a whole number of periods, so crmd's new time does
        # not fall on an occurrence.
        t0 = self.clock.now()
        start = t0 + PACE
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                          " name, rrule, dtstart, channels) VALUES "
                          "(?, ?, '每10分钟回访', 'FREQ=MINUTELY;INTERVAL=10',"
                          " ?, 'inapp,email')", (self.c, self.u, start))
        self.armed_for(start)
        self.clock.step(2 * HOUR + 300)
        q = ("SELECT id, state, due_at FROM reminders WHERE plan_id = ? "
             "ORDER BY due_at")
        wait_for(lambda: [r[1] for r in self.crm.q(q, (pid,))] ==
                 ["fired", "pending"], what="the catch-up and the next one")
        self.settle()
        rows = self.crm.q(q, (pid,))
        self.assertEqual([r[1] for r in rows], ["fired", "pending"], rows)
        (first, _, due), (nxt, _, nxt_due) = rows
        self.assertEqual(due, start)
        self.assert_fired_once(first)
        # The next occurrence is the first one after the catch-up firing.
        fired_at = self.row(first)["fired_at"]
        self.assertEqual(nxt_due, start + ((fired_at - start) // 600 + 1)
                         * 600)
        self.assertGreater(nxt_due, self.clock.now())
        self.assertEqual(self.messages(nxt), (0, 0))
        self.assertEqual(self.crm.q1("SELECT count(*) FROM notifications n "
                                     "JOIN reminders r ON r.id = "
                                     "n.reminder_id WHERE r.plan_id = ?",
                                     (pid,)), 1)

    def test_plan_edit_after_backward_step_keeps_the_next_occurrence(self):
        # A change to a plan reschedules it from crmd's "now"; after a
        # step back that "now" lies before occurrences that already fired,
        # so the series must go on after the last of them, not stop.
        other = self.crm.user(name="李娜", email="lina@example.com")
        t0 = self.clock.now()
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                          " rrule, dtstart) VALUES (?, ?, "
                          "'FREQ=MINUTELY;INTERVAL=10', ?)",
                          (self.c, self.u, t0 + 1))
        q = ("SELECT state, due_at FROM reminders WHERE plan_id = ? "
             "ORDER BY due_at")
        wait_for(lambda: [r[0] for r in self.crm.q(q, (pid,))] ==
                 ["fired", "pending"], what="the first occurrence to fire")
        self.clock.step(-2 * HOUR)
        # The CRM hands the plan to another salesperson.
        self.crm.tx("UPDATE followup_plans SET user_id = ? WHERE id = ?",
                    (other, pid))
        wait_for(lambda: self.crm.q1(
            "SELECT count(*) FROM change_log WHERE tbl = 'followup_plans'")
            == 0, what="crmd to handle the change")
        self.assertEqual(self.crm.q(
            "SELECT state, due_at, user_id FROM reminders WHERE plan_id = ?"
            " AND state = 'pending'", (pid,)), [("pending", t0 + 601, other)])

    def test_forward_step_noticed_without_a_commit(self):
        # libfaketime cannot trigger the timerfd (TFD_TIMER_CANCEL_ON_SET)
        # that reports a step, as on a host where it cannot be created:
        # the 1 s poll notices the step by the wall clock's offset from
        # the monotonic one.
        t0 = self.clock.now()
        rid = self.reminder(t0 + 600)
        self.armed_for(t0 + 600)
        self.clock.step(2 * HOUR)
        self.fired(rid, timeout=5)


if __name__ == "__main__":
    unittest.main()
