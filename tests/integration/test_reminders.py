"""The reminder engine through the real daemon, with the CRM side played
by this process writing the SQLite file."""
import datetime
import re
import os
import random
import signal
import time
import unittest
from zoneinfo import ZoneInfo

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

TZ = ZoneInfo("Asia/Shanghai")
ALWAYS_OPEN = ('working_hours = { days = ["sun", "mon", "tue", "wed", "thu",'
               ' "fri", "sat"]; start = "00:00"; end = "24:00"; };\n')


def local_date(days=0):
    return (datetime.datetime.now(TZ) + datetime.timedelta(days=days)).date()


class Engine(DaemonTest):
    extra_conf = ALWAYS_OPEN + 'escalation = { after = "0s"; };\n'

    def setUp(self):
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)
        self.u = self.crm.user()
        self.c = self.crm.customer(owner=self.u)

    def fired(self, rid, timeout=15):
        wait_for(lambda: self.crm.state(rid) == "fired", timeout=timeout,
                 what="reminder %d to fire" % rid)

    def test_crm_insert_fires_on_time_once(self):
        due = now() + 2
        rid = self.crm.reminder(self.c, self.u, due, note="确认报价")
        self.fired(rid)
        fired_at = self.crm.q1("SELECT fired_at FROM reminders WHERE id=?",
                               (rid,))
        self.assertGreaterEqual(fired_at, due)
        self.assertLessEqual(fired_at - due, 1)
        n = self.crm.q("SELECT title, body FROM notifications "
                       "WHERE reminder_id = ?", (rid,))
        self.assertEqual(len(n), 1)
        self.assertIn("上海明远科技有限公司", n[0][0] + n[0][1])
        self.assertIn("确认报价", n[0][1])
        time.sleep(1.5)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM notifications "
                                     "WHERE reminder_id = ?", (rid,)), 1)
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM audit_log WHERE action='reminder.fired' "
            "AND customer_id = ?", (self.c,)), 1)

    def test_extra_channels_go_to_the_outbox(self):
        rid = self.crm.reminder(self.c, self.u, now(), channels="inapp,email,sms")
        self.fired(rid)
        rows = self.crm.q("SELECT channel, recipient, subject, body, state, "
                          "idempotency_key, last_error FROM outbox"
                          " WHERE reminder_id = ? ORDER BY channel", (rid,))
        self.assertEqual([r[0] for r in rows], ["email", "sms"])
        email, sms = rows
        self.assertEqual(email[1], "zhangwei@example.com")
        self.assertIn("上海明远科技有限公司", email[2])
        # No channels are configured here: queued until working hours
        # open, then dead with a reason that says what to configure.
        if email[4] != "queued":
            self.assertEqual(email[4], "dead")
            self.assertIn("channels.email", email[6])
        self.assertEqual(sms[1], "+8613800000001")
        self.assertNotEqual(email[5], sms[5])

    def test_missing_address_is_dead_with_reason(self):
        u = self.crm.user(name="李娜", email=None, phone=None)
        rid = self.crm.reminder(self.c, u, now(), channels="email")
        self.fired(rid)
        state, err = self.crm.q("SELECT state, last_error FROM outbox "
                                "WHERE reminder_id = ?", (rid,))[0]
        self.assertEqual(state, "dead")
        self.assertIn("no email address", err)

    def test_plan_keeps_exactly_one_occurrence(self):
        # A plan has one pending occurrence at a time, and each firing
        # schedules the next: the first occurrence after both this one and
        # the moment it fired (docs/reminders.md, "catches up once").  On
        # time, all four fire; a firing later than the next occurrence
        # (under valgrind beside the ASan suite, once) skips to the one
        # after, and only so.
        start = now() + 1
        occurrences = [start + 2 * i for i in range(4)]
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id, "
                          "name, rrule, dtstart) VALUES (?, ?, '周回访', "
                          "'FREQ=SECONDLY;INTERVAL=2;COUNT=4', ?)",
                          (self.c, self.u, start))

        def rows():
            return self.crm.q("SELECT due_at, state, fired_at FROM reminders"
                              " WHERE plan_id = ? ORDER BY due_at", (pid,))

        deadline = time.time() + 30
        while time.time() < deadline:
            states = [r[1] for r in rows()]
            self.assertLessEqual(states.count("pending"), 1, rows())
            if now() > occurrences[-1] + 1 and "pending" not in states:
                break
            time.sleep(0.05)
        got = rows()
        self.assertEqual([r[1] for r in got], ["fired"] * len(got), got)
        self.assertEqual(got[0][0], occurrences[0], got)
        # Every occurrence without a row was due by the time the one
        # before it fired (fired_at is whole seconds, taken a moment
        # before the next occurrence is chosen).
        for due, _, fired_at in got:
            self.assertIn(due, occurrences, got)
        for i, (due, _, fired_at) in enumerate(got):
            following = got[i + 1][0] if i + 1 < len(got) else None
            for d in occurrences:
                if d > due and (following is None or d < following):
                    self.assertLessEqual(d, fired_at + 1, got)
        if len(got) < 4:
            print("\n(late firings skipped %d occurrence(s): %r)"
                  % (4 - len(got), got))

    def test_plan_pause_cancels_resume_recreates(self):
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id, "
                          "rrule, dtstart) VALUES (?, ?, 'FREQ=DAILY', ?)",
                          (self.c, self.u, now() + 3600))
        q = ("SELECT count(*) FROM reminders WHERE plan_id = ? AND "
             "state = 'pending'")
        wait_for(lambda: self.crm.q1(q, (pid,)) == 1, what="occurrence")
        self.crm.tx("UPDATE followup_plans SET active = 0 WHERE id = ?", (pid,))
        wait_for(lambda: self.crm.q1(q, (pid,)) == 0, what="cancellation")
        self.crm.tx("UPDATE followup_plans SET active = 1 WHERE id = ?", (pid,))
        wait_for(lambda: self.crm.q1(q, (pid,)) == 1, what="resumed")

    def test_renewal_from_contract(self):
        end = local_date(40)
        kid = self.crm.tx("INSERT INTO contracts(customer_id, title, "
                          "start_date, end_date) VALUES (?, '年度服务合同', "
                          "?, ?)", (self.c, str(local_date(-325)), str(end)))
        q = ("SELECT id, due_at, kind, user_id FROM reminders WHERE "
             "dedup_key = ?")
        key = "renewal:%d:%s" % (kid, end)
        row = wait_for(lambda: self.crm.q(q, (key,)), what="renewal")[0]
        due = datetime.datetime.fromtimestamp(row[1], TZ)
        self.assertEqual(due.date(), end - datetime.timedelta(days=30))
        self.assertEqual((due.hour, due.minute), (9, 30))
        self.assertEqual(row[2], "renewal")
        self.assertEqual(row[3], self.u)
        # Edited end date: the old reminder is replaced, not duplicated.
        end2 = local_date(50)
        self.crm.tx("UPDATE contracts SET end_date = ? WHERE id = ?",
                    (str(end2), kid))
        key2 = "renewal:%d:%s" % (kid, end2)
        wait_for(lambda: self.crm.q(q, (key2,)), what="new renewal")
        self.assertEqual(self.crm.state(row[0]), "cancelled")

    def test_contract_ending_soon_reminds_now(self):
        kid = self.crm.tx("INSERT INTO contracts(customer_id, title, "
                          "start_date, end_date) VALUES (?, '试用合同', ?, ?)",
                          (self.c, str(local_date(-10)), str(local_date(5))))
        rid = wait_for(lambda: self.crm.q1(
            "SELECT id FROM reminders WHERE dedup_key LIKE ?",
            ("renewal:%d:%%" % kid,)), what="renewal")
        self.fired(rid)
        body = self.crm.q1("SELECT body FROM notifications WHERE "
                           "reminder_id = ?", (rid,))
        self.assertIn("试用合同", body)

    def test_birthday_reminders(self):
        tomorrow = local_date(1)
        cid = self.crm.customer(name="王芳", owner=self.u,
                                birthday="%02d-%02d" % (tomorrow.month,
                                                        tomorrow.day))
        row = wait_for(lambda: self.crm.q(
            "SELECT due_at, kind FROM reminders WHERE customer_id = ?",
            (cid,)), what="birthday")[0]
        due = datetime.datetime.fromtimestamp(row[0], TZ)
        self.assertEqual(due.date(), tomorrow)
        self.assertEqual((due.hour, due.minute), (9, 0))
        self.assertEqual(row[1], "birthday")
        ct = self.crm.tx("INSERT INTO contacts(customer_id, name, birthday) "
                         "VALUES (?, '赵敏', ?)", (self.c,
                                                  str(local_date(3))[5:]))
        wait_for(lambda: self.crm.q1(
            "SELECT count(*) FROM reminders WHERE dedup_key LIKE ?",
            ("birthday:contacts:%d:%%" % ct,)), what="contact birthday")

    def test_next_followup(self):
        t = now()
        fid = self.crm.tx("INSERT INTO followups(customer_id, user_id, at, "
                          "content, next_action, next_followup_at) VALUES "
                          "(?, ?, ?, '电话沟通', '发送报价单', ?)",
                          (self.c, self.u, t, t + 3600))
        q = "SELECT id, due_at, note FROM reminders WHERE dedup_key LIKE ?"
        first = wait_for(lambda: self.crm.q(q, ("followup:%d:%%" % fid,)),
                         what="follow-up reminder")[0]
        self.assertEqual(first[1], t + 3600)
        self.assertEqual(first[2], "发送报价单")
        self.crm.tx("UPDATE followups SET next_followup_at = ? WHERE id = ?",
                    (t + 7200, fid))
        wait_for(lambda: self.crm.state(first[0]) == "cancelled",
                 what="replaced")
        second = [r for r in self.crm.q(q, ("followup:%d:%%" % fid,))
                  if r[1] == t + 7200][0]
        # A newer follow-up for the same customer supersedes it.
        self.crm.tx("INSERT INTO followups(customer_id, user_id, at, content) "
                    "VALUES (?, ?, ?, '已拜访')", (self.c, self.u, t + 60))
        wait_for(lambda: self.crm.state(second[0]) == "cancelled",
                 what="superseded")

    def test_crm_ack_by_writing_acked_at(self):
        rid = self.crm.reminder(self.c, self.u, now())
        self.fired(rid)
        self.crm.tx("UPDATE reminders SET acked_at = ? WHERE id = ?",
                    (now(), rid))
        self.assertEqual(self.crm.state(rid), "acked")


class ReviewRegressions(DaemonTest):
    """Defects found in review, each shown through the real daemon."""
    extra_conf = ALWAYS_OPEN

    def setUp(self):
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)
        self.u = self.crm.user()
        self.c = self.crm.customer(owner=self.u)

    def test_rule_that_never_matches_does_not_hang(self):
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                          " rrule, dtstart) VALUES (?, ?, "
                          "'FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30', ?)",
                          (self.c, self.u, now()))
        ok = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                         " rrule, dtstart) VALUES (?, ?, 'FREQ=DAILY', ?)",
                         (self.c, self.u, now() + 60))
        wait_for(lambda: self.crm.q1("SELECT count(*) FROM reminders WHERE "
                                     "plan_id = ?", (ok,)) == 1,
                 what="the good plan's occurrence")
        self.assertEqual(self.crm.q1("SELECT count(*) FROM reminders WHERE "
                                     "plan_id = ?", (pid,)), 0)
        self.assertEqual(self.d.ctl("ping").returncode, 0)
        self.assertIn("is refused", self.d.log_text())

    def test_deleted_customer_cancels_its_reminder(self):
        c2 = self.crm.customer(name="已删除客户", owner=self.u)
        rid = self.crm.reminder(c2, self.u, now() + 1)
        # The CRM deletes with foreign keys off (SQLite's default).
        self.crm.db.execute("PRAGMA foreign_keys = OFF")
        self.crm.tx("DELETE FROM customers WHERE id = ?", (c2,))
        wait_for(lambda: self.crm.state(rid) == "cancelled",
                 what="the orphan to be cancelled")
        s1 = self.d.ctl("--json", "status").stdout
        time.sleep(1)
        import json
        w1 = json.loads(s1)["scheduler"]["wakeups"]
        w2 = json.loads(self.d.ctl("--json", "status").stdout)[
            "scheduler"]["wakeups"]
        self.assertLess(w2 - w1, 5, "the scheduler is spinning")

    def test_crm_ack_of_pending_plan_occurrence_moves_the_plan_on(self):
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                          " rrule, dtstart) VALUES (?, ?, 'FREQ=DAILY', ?)",
                          (self.c, self.u, now() + 3600))
        q = ("SELECT id, due_at FROM reminders WHERE plan_id = ? AND "
             "state = 'pending'")
        first = wait_for(lambda: self.crm.q(q, (pid,)), what="first")[0]
        self.crm.tx("UPDATE reminders SET acked_at = ? WHERE id = ?",
                    (now(), first[0]))
        nxt = wait_for(lambda: self.crm.q(q, (pid,)), what="next")[0]
        self.assertEqual(nxt[1], first[1] + 86400)

    def test_snoozed_plan_occurrence_survives_the_next_one(self):
        pid = self.crm.tx("INSERT INTO followup_plans(customer_id, user_id,"
                          " rrule, dtstart) VALUES (?, ?, "
                          "'FREQ=SECONDLY;INTERVAL=2;COUNT=3', ?)",
                          (self.c, self.u, now() + 1))
        first = wait_for(lambda: self.crm.q1(
            "SELECT id FROM reminders WHERE plan_id = ? AND state = "
            "'fired'", (pid,)), what="first firing")
        self.crm.tx("UPDATE reminders SET state = 'snoozed', snoozed_until "
                    "= ? WHERE id = ?", (now() + 3600, first))
        wait_for(lambda: self.crm.q1("SELECT count(*) FROM reminders WHERE "
                                     "plan_id = ? AND state = 'fired'",
                                     (pid,)) >= 1 and self.crm.q1(
            "SELECT count(*) FROM reminders WHERE plan_id = ?", (pid,)) >= 3,
            what="later occurrences")
        self.assertEqual(self.crm.state(first), "snoozed")

    def test_edited_birthday_moves_the_pending_reminder(self):
        d1, d2 = local_date(10), local_date(20)
        cid = self.crm.customer(name="刘备", owner=self.u,
                                birthday="%02d-%02d" % (d1.month, d1.day))
        q = "SELECT id, due_at FROM reminders WHERE customer_id = ?"
        first = wait_for(lambda: self.crm.q(q, (cid,)), what="birthday")[0]
        self.crm.tx("UPDATE customers SET birthday = ? WHERE id = ?",
                    ("%02d-%02d" % (d2.month, d2.day), cid))
        if d1.year == d2.year:
            wait_for(lambda: datetime.datetime.fromtimestamp(
                self.crm.q1("SELECT due_at FROM reminders WHERE id = ?",
                            (first[0],)), TZ).date() == d2,
                what="the same reminder to move")
        pending = self.crm.q("SELECT due_at FROM reminders WHERE "
                             "customer_id = ? AND state = 'pending'", (cid,))
        wait_for(lambda: [datetime.datetime.fromtimestamp(r[0], TZ).date()
                          for r in self.crm.q(
                              "SELECT due_at FROM reminders WHERE "
                              "customer_id = ? AND state = 'pending'",
                              (cid,))] == [d2], what="one reminder on d2")
        del pending


class Escalation(DaemonTest):
    extra_conf = ALWAYS_OPEN + 'escalation = { after = "2s"; };\n'

    def test_unacknowledged_goes_to_manager_once(self):
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        boss = crm.user(name="刘经理", email="boss@example.com")
        u = crm.user(manager=boss)
        c = crm.customer(owner=u)
        acked = crm.reminder(c, u, now())
        ignored = crm.reminder(c, u, now())
        wait_for(lambda: crm.state(acked) == "fired", what="fire")
        crm.tx("UPDATE reminders SET acked_at = ? WHERE id = ?", (now(), acked))
        wait_for(lambda: crm.q1("SELECT escalated_at FROM reminders WHERE "
                                "id = ?", (ignored,)), what="escalation")
        time.sleep(1)
        rows = crm.q("SELECT user_id, title FROM notifications WHERE "
                     "user_id = ?", (boss,))
        self.assertEqual(len(rows), 1)
        self.assertIsNone(crm.q1("SELECT escalated_at FROM reminders WHERE "
                                 "id = ?", (acked,)))
        self.assertEqual(crm.q1("SELECT recipient FROM outbox WHERE "
                                "idempotency_key LIKE 'e%'"),
                         "boss@example.com")


class Snooze(DaemonTest):
    extra_conf = ALWAYS_OPEN

    def test_snoozed_fires_again_with_new_keys(self):
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        u = crm.user()
        c = crm.customer(owner=u)
        rid = crm.reminder(c, u, now(), channels="email")
        wait_for(lambda: crm.state(rid) == "fired", what="fire")
        crm.tx("UPDATE reminders SET state = 'snoozed', snoozed_until = ? "
               "WHERE id = ?", (now() + 1, rid))
        wait_for(lambda: crm.q1("SELECT fire_count FROM reminders WHERE "
                                "id = ?", (rid,)) == 2, what="refire")
        self.assertEqual(crm.q1("SELECT count(*) FROM notifications WHERE "
                                "reminder_id = ?", (rid,)), 2)
        self.assertEqual(crm.q1("SELECT count(DISTINCT idempotency_key) "
                                "FROM outbox WHERE reminder_id = ?", (rid,)), 2)


class WorkingHours(DaemonTest):
    # Open only on a day that is not today: email waits, in-app does not.
    def setUp(self):
        other = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][
            (datetime.datetime.now(TZ).isoweekday() + 2) % 7]
        self.extra_conf = ('working_hours = { days = ["%s"]; start = '
                           '"09:00"; end = "18:00"; };\n' % other)
        super().setUp()

    def test_email_waits_for_working_start(self):
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        u = crm.user()
        c = crm.customer(owner=u)
        rid = crm.reminder(c, u, now(), channels="email")
        wait_for(lambda: crm.state(rid) == "fired", what="fire")
        nxt = crm.q1("SELECT next_attempt_at FROM outbox WHERE reminder_id=?",
                     (rid,))
        start = datetime.datetime.fromtimestamp(nxt, TZ)
        self.assertGreater(nxt, now() + 3600)
        self.assertEqual((start.hour, start.minute), (9, 0))
        self.assertEqual(crm.q1("SELECT count(*) FROM notifications WHERE "
                                "reminder_id = ?", (rid,)), 1)


class CatchUp(DaemonTest):
    extra_conf = ALWAYS_OPEN + 'catchup = { max_age = "1h"; };\n'

    def test_policy_after_downtime(self):
        self.d.start()
        crm = Crm(self.d)
        u = crm.user()
        c = crm.customer(owner=u)
        self.assertEqual(self.d.stop(), 0)
        t = now()
        young = crm.reminder(c, u, t - 600)
        old = crm.reminder(c, u, t - 7200)
        pid = crm.tx("INSERT INTO followup_plans(customer_id, user_id, rrule,"
                     " dtstart) VALUES (?, ?, 'FREQ=MINUTELY;INTERVAL=5', ?)",
                     (c, u, t - 3000))
        crm.close()
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        wait_for(lambda: crm.state(young) == "fired", what="late fire")
        self.assertEqual(crm.q1("SELECT late FROM reminders WHERE id = ?",
                                (young,)), 1)
        wait_for(lambda: crm.state(old) == "missed", what="missed")
        self.assertEqual(crm.q1("SELECT count(*) FROM notifications WHERE "
                                "reminder_id = ?", (old,)), 0)
        # The plan's occurrences while down were in the past: only the
        # next one exists, pending, in the future.
        wait_for(lambda: crm.q1("SELECT count(*) FROM reminders WHERE "
                                "plan_id = ?", (pid,)) >= 1, what="plan")
        rows = crm.q("SELECT state, due_at FROM reminders WHERE plan_id = ?",
                     (pid,))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][0], "pending")
        self.assertGreater(rows[0][1], t)


class Digest(DaemonTest):
    extra_conf = ALWAYS_OPEN + 'digest = { time = "00:00"; };\n'

    def test_daily_digest_once_per_day(self):
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        u = crm.user(name="张伟")
        idle = crm.user(name="空闲")
        a = crm.customer(name="上海明远科技有限公司", owner=u, level="A")
        c = crm.customer(name="深圳华南贸易有限公司", owner=u, level="C")
        self.assertEqual(self.d.stop(), 0)
        # Fired and not acknowledged: today's or overdue, whatever the hour.
        for cust in (c, a):
            rid = crm.reminder(cust, u, now() - 30)
            crm.tx("UPDATE reminders SET state = 'fired', fired_at = ? "
                   "WHERE id = ?", (now(), rid))
        crm.tx("DELETE FROM digests")
        self.d.start()
        title = wait_for(lambda: crm.q1(
            "SELECT title FROM notifications WHERE user_id = ? AND "
            "reminder_id IS NULL", (u,)), what="digest")
        counts = [int(x) for x in re.findall(r"(\d+) 项", title)]
        self.assertEqual(sum(counts[:2]), 2, title)
        body = crm.q1("SELECT body FROM notifications WHERE user_id = ? AND "
                      "reminder_id IS NULL", (u,))
        # Sorted by customer level: the A customer comes first.
        self.assertLess(body.index("上海明远"), body.index("深圳华南"))
        self.assertEqual(crm.q1("SELECT count(*) FROM outbox WHERE "
                                "idempotency_key LIKE 'd%'"), 1)
        # Nobody is told about an empty day; a restart sends nothing again.
        self.assertEqual(crm.q1("SELECT count(*) FROM notifications WHERE "
                                "user_id = ?", (idle,)), 0)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        time.sleep(1)
        self.assertEqual(crm.q1("SELECT count(*) FROM notifications WHERE "
                                "reminder_id IS NULL"), 1)


class KillNine(DaemonTest):
    extra_conf = ALWAYS_OPEN

    def test_kill_9_while_firing_loses_nothing_fires_nothing_twice(self):
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        u = crm.user()
        c = crm.customer(owner=u)
        t = now()
        crm.db.execute("BEGIN IMMEDIATE")
        crm.db.executemany(
            "INSERT INTO reminders(customer_id, user_id, kind, due_at, "
            "channels) VALUES (?, ?, 'followup', ?, 'inapp,email')",
            [(c, u, t + 1 + i % 4) for i in range(6000)])
        crm.db.execute("COMMIT")
        rng = random.Random(7)
        for _ in range(6):
            time.sleep(rng.uniform(0.05, 0.6))
            self.d.proc.send_signal(signal.SIGKILL)
            self.d.proc.wait()
            self.d.logf.close()
            self.d.start()
        wait_for(lambda: crm.q1("SELECT count(*) FROM reminders WHERE "
                                "state = 'pending'") == 0, timeout=60,
                 what="all fired")
        self.assertEqual(crm.q1("SELECT count(*) FROM reminders WHERE "
                                "state = 'fired'"), 6000)
        # Exactly one notification and one email per reminder (the daily
        # digest is a notification without a reminder).
        self.assertEqual(crm.q("SELECT count(*), count(DISTINCT reminder_id)"
                               " FROM notifications WHERE reminder_id IS NOT"
                               " NULL")[0], (6000, 6000))
        self.assertEqual(crm.q("SELECT count(*), count(DISTINCT reminder_id)"
                               " FROM outbox WHERE reminder_id IS NOT NULL"
                               )[0], (6000, 6000))


if __name__ == "__main__":
    unittest.main()
