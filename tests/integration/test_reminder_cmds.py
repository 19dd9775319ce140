"""The admin commands for reminders and plans, through the real crmctl and
crmd: reminder add/list/ack/snooze/cancel, plan add/list/pause/resume and
today.  The CRM side (users, customers, its own reminders) is played by
this process writing the SQLite file."""
import calendar
import datetime
import json
import os
import re
import time
import unicodedata
import unittest
from zoneinfo import ZoneInfo

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

TZ = ZoneInfo("Asia/Shanghai")
MINGYUAN = "上海明远科技有限公司"
AS_ROOT = unittest.skipUnless(os.geteuid() == 0,
                              "setpriv to another user needs root")
REMINDER_KEYS = {"id", "customer_id", "customer", "level", "user_id", "user",
                 "kind", "due_at", "due", "state", "channels", "note",
                 "source", "plan_id", "late", "fired_at", "acked_at",
                 "snoozed_until", "escalated_at", "created_at"}
PLAN_KEYS = {"id", "customer_id", "customer", "level", "user_id", "user",
             "name", "rrule", "dtstart", "start", "until", "channels",
             "active", "next_reminder_id", "next_at", "next", "created_at"}


def utc(y, mo, d, h, mi):
    return calendar.timegm((y, mo, d, h, mi, 0))


def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in s)


def columns(line):
    """Display columns at which the cells of a table line start: a cell
    follows the two-space gap (or starts the line)."""
    starts, col = [], 0
    for i, ch in enumerate(line):
        if ch != " " and (i == 0 or line[i - 1] == " " and
                          (i < 2 or line[i - 2] == " ")):
            starts.append(col)
        col += width(ch)
    return starts


class Commands(DaemonTest):
    def setUp(self):
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)
        self.zhang = self.crm.user("张伟")
        self.li = self.crm.user("李娜", email="lina@example.com")
        self.a = self.crm.customer(MINGYUAN, owner=self.zhang, level="A")
        self.b = self.crm.customer("北京华信贸易有限公司", owner=self.zhang,
                                   level="B")
        self.c = self.crm.customer("Acme", owner=self.li, level="C")
        self.orphan = self.crm.customer("无主客户", owner=None, level=None)
        self.actor = "uid:%d" % os.geteuid()

    def ok(self, *args):
        r = self.d.ctl(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def js(self, *args):
        return json.loads(self.ok("--json", *args))

    def fails(self, code, *args):
        r = self.d.ctl(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        return r.stderr

    def add(self, customer, at, *extra):
        return int(self.ok("reminder", "add", "--customer", str(customer),
                           "--at", at, *extra).strip())

    def row(self, rid):
        c = self.crm.db.execute("SELECT * FROM reminders WHERE id = ?", (rid,))
        names = [d[0] for d in c.description]
        return dict(zip(names, c.fetchone()))

    def audit(self, action):
        return self.crm.q("SELECT actor, customer_id, detail FROM audit_log "
                          "WHERE action = ? ORDER BY id", (action,))

    # ---- reminder add ----

    def test_add_prints_id_and_stores_local_time_as_utc(self):
        out = self.ok("reminder", "add", "--customer", str(self.a), "--at",
                      "2030-01-15 09:30", "--kind", "callback", "--channel",
                      "email,inapp", "--note", "确认报价")
        self.assertRegex(out, r"^\d+\n$")
        r = self.row(int(out))
        self.assertEqual(r["due_at"], utc(2030, 1, 15, 1, 30))  # UTC+8
        self.assertEqual(r["customer_id"], self.a)
        self.assertEqual(r["user_id"], self.zhang)          # the owner
        self.assertEqual(r["kind"], "callback")
        self.assertEqual(r["channels"], "inapp,email")      # canonical
        self.assertEqual(r["note"], "确认报价")
        self.assertEqual(r["state"], "pending")
        self.assertEqual(r["source"], "crmctl")
        self.assertIsNone(r["dedup_key"])
        self.assertEqual(self.audit("reminder.add"),
                         [(self.actor, self.a, "reminder %s (callback) for "
                           "user %d due 2030-01-15 09:30"
                           % (out.strip(), self.zhang))])

    def test_add_defaults_and_explicit_user(self):
        rid = self.add(self.a, "2030-03-01 08:00")
        self.assertEqual(self.row(rid)["kind"], "followup")
        self.assertEqual(self.row(rid)["channels"], "")
        rid = self.add(self.a, "2030-03-01 08:00", "--user", str(self.li))
        self.assertEqual(self.row(rid)["user_id"], self.li)
        err = self.fails(1, "reminder", "add", "--customer",
                         str(self.orphan), "--at", "2030-03-01 08:00")
        self.assertIn("has no owner", err)
        self.assertIn("--user", err)
        rid = self.add(self.orphan, "2030-03-01 08:00", "--user",
                       str(self.li))
        self.assertEqual(self.row(rid)["user_id"], self.li)

    def test_add_json_reply(self):
        j = self.js("reminder", "add", "--customer", str(self.a), "--at",
                    "2030-07-01 18:05")
        self.assertEqual(j["due"], "2030-07-01 18:05")
        self.assertEqual(j["due_at"], utc(2030, 7, 1, 10, 5))
        self.assertEqual(j["user_id"], self.zhang)
        self.assertEqual(j["kind"], "followup")

    def test_bad_input_is_refused_with_a_reason(self):
        base = ["reminder", "add", "--customer", str(self.a)]
        cases = [
            (["--at", "2030-02-30 09:00"], "bad time '2030-02-30 09:00'"),
            (["--at", "tomorrow"], "YYYY-MM-DD HH:MM"),
            (["--at", "2030-01-01 25:00"], "bad time"),
            (["--at", "2030-01-01 09:00", "--kind", "visit"],
             "unknown kind 'visit'"),
            (["--at", "2030-01-01 09:00", "--channel", "fax"],
             "bad channel list 'fax'"),
            (["--at", "2030-01-01 09:00", "--channel", "email,"],
             "bad channel list"),
            (["--at", "2030-01-01 09:00", "--user", "999"], "no user 999"),
        ]
        for extra, msg in cases:
            err = self.fails(1, *base, *extra)
            self.assertIn(msg, err)
            self.assertIn("bad request", err)
        err = self.fails(1, "reminder", "add", "--customer", "999", "--at",
                         "2030-01-01 09:00")
        self.assertIn("no customer 999", err)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM reminders"), 0)
        self.assertEqual(self.audit("reminder.add"), [])

    def test_usage_errors_exit_2(self):
        cases = [
            (["reminder", "add", "--customer", "1"], "--at is required"),
            (["reminder", "add", "--at", "2030-01-01 09:00"],
             "--customer is required"),
            (["reminder", "add", "--customer", "abc", "--at",
              "2030-01-01 09:00"], "--customer wants a number"),
            (["reminder", "add", "--customer", "1", "--at", "x", "--frob"],
             "unknown option --frob"),
            (["reminder", "list", "--rrule", "x"], "unknown option --rrule"),
            (["reminder", "ack"], "missing argument"),
            (["reminder", "ack", "x"], "ID must be a number"),
            (["reminder", "ack", "1", "2"], "too many arguments"),
            (["reminder", "snooze", "1"], "missing argument"),
            (["plan", "add", "--customer", "1"], "--rrule is required"),
            (["plan", "pause", "-3"], "unknown option"),
            (["today", "--user", "0"], "--user wants a number"),
        ]
        for args, msg in cases:
            err = self.fails(2, *args)
            self.assertIn(msg, err)
            self.assertIn("usage: crmctl", err)

    def test_locked_database_is_503_at_once(self):
        rid = self.add(self.a, "2030-01-01 09:00")
        lock = self.d.db_connect()
        lock.execute("BEGIN IMMEDIATE")
        try:
            err = self.fails(1, "reminder", "cancel", str(rid))
            self.assertIn("database busy, try again", err)
            self.assertIn("temporarily unavailable", err)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.assertEqual(self.row(rid)["state"], "pending")
        self.ok("reminder", "cancel", str(rid))
        self.assertEqual(self.row(rid)["state"], "cancelled")

    # ---- reminder list ----

    def test_list_filters_order_and_json_keys(self):
        r1 = self.add(self.a, "2030-01-02 09:00")
        r2 = self.add(self.c, "2030-01-01 09:00")
        r3 = self.add(self.b, "2030-01-03 09:00", "--user", str(self.li))
        r4 = self.crm.reminder(self.a, self.zhang, utc(2030, 1, 4, 0, 0))
        self.ok("reminder", "cancel", str(r1))
        rows = self.js("reminder", "list")
        self.assertEqual([r["id"] for r in rows], [r2, r1, r3, r4])
        for r in rows:
            self.assertEqual(set(r), REMINDER_KEYS)
        first = rows[0]
        self.assertEqual(first["customer"], "Acme")
        self.assertEqual(first["level"], "C")
        self.assertEqual(first["user"], "李娜")
        self.assertEqual(first["due"], "2030-01-01 09:00")
        self.assertIs(first["late"], False)
        self.assertIsNone(first["plan_id"])
        self.assertEqual(rows[3]["source"], "crm")
        ids = lambda *a: [r["id"] for r in self.js("reminder", "list", *a)]
        self.assertEqual(ids("--user", str(self.li)), [r2, r3])
        self.assertEqual(ids("--customer", str(self.a)), [r1, r4])
        self.assertEqual(ids("--state", "cancelled"), [r1])
        self.assertEqual(ids("--state", "pending", "--customer",
                             str(self.a)), [r4])
        self.assertEqual(ids("--user", str(self.zhang), "--customer",
                             str(self.a), "--state", "pending"), [r4])
        self.assertEqual(ids("--limit", "2"), [r2, r1])
        self.assertEqual(ids("--user", "999"), [])
        err = self.fails(1, "reminder", "list", "--state", "done")
        self.assertIn("unknown state 'done'", err)
        err = self.fails(1, "reminder", "list", "--limit", "100001")
        self.assertIn("'limit'", err)

    def test_human_table_aligns_chinese_names(self):
        self.add(self.a, "2030-01-01 09:00", "--note", "确认报价")
        self.add(self.c, "2030-01-02 09:00", "--note", "call back")
        self.add(self.b, "2030-01-03 09:00")
        lines = self.ok("reminder", "list").splitlines()
        self.assertEqual(len(lines), 4)
        self.assertEqual(lines[0].split()[:3], ["ID", "CUSTOMER", "LEVEL"])
        self.assertIn(MINGYUAN, lines[1])
        # Every cell of a column starts at the same display column.
        # Every cell of a column starts at the same display column (the
        # right-aligned ID column aside), whatever the names' widths.
        cols = [columns(l)[1:] for l in lines]
        self.assertEqual(len(cols[0]), 7)
        for c in cols[1:3]:
            self.assertEqual(c, cols[0])
        # An empty note ends the line after USER, without trailing blanks.
        self.assertEqual(cols[3], cols[0][:6])
        self.assertFalse(any(l.endswith(" ") for l in lines))

    # ---- ack, snooze, cancel ----

    def fire(self, rid):
        """Makes rid look fired, as crmd would leave it."""
        self.crm.tx("UPDATE reminders SET state = 'fired', fired_at = ? "
                    "WHERE id = ?", (now(), rid))

    def test_state_rules(self):
        rid = self.add(self.a, "2030-01-01 09:00")
        err = self.fails(1, "reminder", "snooze", str(rid), "2h")
        self.assertIn("conflict", err)
        self.assertIn("reminder %d is pending" % rid, err)
        self.fire(rid)
        before = now()
        out = self.ok("reminder", "snooze", str(rid), "2h")
        after = now()
        self.assertIn("reminder %d snoozed until" % rid, out)
        r = self.row(rid)
        self.assertEqual(r["state"], "snoozed")
        self.assertGreaterEqual(r["snoozed_until"], before + 7200)
        self.assertLessEqual(r["snoozed_until"], after + 7200)
        j = self.js("reminder", "snooze", str(rid), "30m")
        self.assertEqual((j["id"], j["state"], j["previous"]),
                         (rid, "snoozed", "snoozed"))
        self.assertLessEqual(abs(j["snoozed_until"] - now() - 1800), 2)
        self.assertEqual(self.row(rid)["snoozed_until"], j["snoozed_until"])
        self.assertEqual(self.ok("reminder", "ack", str(rid)),
                         "reminder %d acked (was snoozed)\n" % rid)
        r = self.row(rid)
        self.assertEqual(r["state"], "acked")
        self.assertGreaterEqual(r["acked_at"], before)
        for cmd in (["ack"], ["cancel"], ["snooze", "1h"]):
            err = self.fails(1, "reminder", *cmd[:1], str(rid), *cmd[1:])
            self.assertIn("reminder %d is acked" % rid, err)
        self.assertEqual(self.row(rid)["state"], "acked")
        acts = self.crm.q("SELECT action, actor, customer_id FROM audit_log "
                          "WHERE action LIKE 'reminder.%' ORDER BY id")
        self.assertEqual([a for a, _, _ in acts],
                         ["reminder.add", "reminder.snooze",
                          "reminder.snooze", "reminder.ack"])
        self.assertTrue(all(a == self.actor and c == self.a
                            for _, a, c in acts))

    def test_cancel_and_unknown_ids(self):
        pending = self.add(self.a, "2030-01-01 09:00")
        fired = self.add(self.a, "2030-01-01 10:00")
        self.fire(fired)
        self.assertEqual(self.ok("reminder", "cancel", str(pending)),
                         "reminder %d cancelled (was pending)\n" % pending)
        self.assertEqual(self.ok("reminder", "cancel", str(fired)),
                         "reminder %d cancelled (was fired)\n" % fired)
        self.assertEqual(self.row(fired)["state"], "cancelled")
        err = self.fails(1, "reminder", "cancel", str(pending))
        self.assertIn("is cancelled", err)
        for cmd in ("ack", "cancel"):
            err = self.fails(1, "reminder", cmd, "99999")
            self.assertIn("no reminder 99999", err)
        err = self.fails(1, "reminder", "snooze", str(fired), "2x")
        self.assertIn("bad duration '2x'", err)
        self.assertEqual(len(self.audit("reminder.cancel")), 2)

    # ---- plans ----

    def plan_pending(self, pid):
        return self.crm.q("SELECT id, due_at FROM reminders WHERE plan_id = ? "
                          "AND state = 'pending'", (pid,))

    def test_plan_add_list_pause_resume(self):
        out = self.ok("plan", "add", "--customer", str(self.a), "--rrule",
                      "FREQ=WEEKLY;BYDAY=MO", "--start", "2030-01-07 10:00",
                      "--name", "每周回访")
        m = re.fullmatch(r"plan (\d+) added; first occurrence "
                         r"2030-01-07 10:00 \(reminder (\d+)\)\n", out)
        self.assertIsNotNone(m, out)
        pid, first = int(m.group(1)), int(m.group(2))
        due = utc(2030, 1, 7, 2, 0)
        p = self.crm.q("SELECT user_id, rrule, dtstart, active, name FROM "
                       "followup_plans WHERE id = ?", (pid,))
        self.assertEqual(p, [(self.zhang, "FREQ=WEEKLY;BYDAY=MO", due, 1,
                              "每周回访")])
        self.assertEqual(self.plan_pending(pid), [(first, due)])
        r = self.row(first)
        self.assertEqual((r["source"], r["kind"], r["note"]),
                         ("plan", "followup", "每周回访"))

        plans = self.js("plan", "list")
        self.assertEqual(len(plans), 1)
        self.assertEqual(set(plans[0]), PLAN_KEYS)
        self.assertEqual((plans[0]["next"], plans[0]["next_reminder_id"],
                          plans[0]["active"], plans[0]["start"]),
                         ("2030-01-07 10:00", first, True,
                          "2030-01-07 10:00"))
        self.assertIn(MINGYUAN, self.ok("plan", "list"))

        self.assertEqual(self.ok("plan", "pause", str(pid)),
                         "plan %d paused; reminder %d cancelled\n"
                         % (pid, first))
        self.assertEqual(self.plan_pending(pid), [])
        self.assertEqual(self.row(first)["state"], "cancelled")
        self.assertIn("already paused",
                      self.fails(1, "plan", "pause", str(pid)))
        self.assertIs(self.js("plan", "list")[0]["active"], False)

        j = self.js("plan", "resume", str(pid))
        self.assertIs(j["active"], True)
        self.assertEqual(j["next"], "2030-01-07 10:00")
        self.assertEqual(self.plan_pending(pid),
                         [(j["next_reminder_id"], due)])
        self.assertIn("already active",
                      self.fails(1, "plan", "resume", str(pid)))
        # crmd also sees the plan's rows in its change log; still one.
        time.sleep(1.5)
        self.assertEqual(len(self.plan_pending(pid)), 1)
        self.assertEqual([a for a, in self.crm.q(
            "SELECT action FROM audit_log WHERE action LIKE 'plan.%' "
            "ORDER BY id")], ["plan.add", "plan.pause", "plan.resume"])

    def test_plan_defaults_and_filters(self):
        t0 = now()
        j = self.js("plan", "add", "--customer", str(self.c), "--rrule",
                    "FREQ=DAILY")
        self.assertEqual(j["user_id"], self.li)
        self.assertGreater(j["next_at"], t0)
        self.assertLessEqual(j["next_at"], t0 + 120)
        self.assertEqual(j["next_at"] % 60, 0)
        self.js("plan", "add", "--customer", str(self.a), "--rrule",
                "FREQ=MONTHLY;INTERVAL=1", "--start", "2030-01-31 09:00",
                "--channel", "sms,inapp")
        ids = lambda *a: [p["customer_id"] for p in self.js("plan", "list",
                                                            *a)]
        self.assertEqual(ids(), [self.c, self.a])
        self.assertEqual(ids("--user", str(self.zhang)), [self.a])
        self.assertEqual(ids("--customer", str(self.c)), [self.c])
        self.assertEqual(self.js("plan", "list", "--customer",
                                 str(self.a))[0]["channels"], "inapp,sms")

    def test_plan_bad_input(self):
        base = ["plan", "add", "--customer", str(self.a)]
        err = self.fails(1, *base, "--rrule", "FREQ=SOMETIMES")
        self.assertIn("FREQ=SOMETIMES", err)
        err = self.fails(1, *base, "--rrule", "FREQ=DAILY;COUNT=1",
                         "--start", "2020-01-01 09:00")
        self.assertIn("no occurrence after", err)
        err = self.fails(1, *base, "--rrule", "FREQ=DAILY", "--start",
                         "2030-13-01 09:00")
        self.assertIn("bad start", err)
        err = self.fails(1, "plan", "add", "--customer", "999", "--rrule",
                         "FREQ=DAILY")
        self.assertIn("no customer 999", err)
        self.assertIn("no plan 42", self.fails(1, "plan", "pause", "42"))
        self.assertEqual(self.crm.q1("SELECT count(*) FROM followup_plans"),
                         0)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM reminders"), 0)

    # ---- today ----

    def test_today_by_level_then_time(self):
        local = datetime.datetime.now(TZ)
        if local.hour == 23 and local.minute >= 55:
            time.sleep((60 - local.minute) * 60 - local.second + 5)
            local = datetime.datetime.now(TZ)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day = int(midnight.timestamp())
        at = lambda h, m=0: day + h * 3600 + m * 60
        z, l = self.zhang, self.li
        c_late = self.crm.reminder(self.c, l, at(8))
        a_late = self.crm.reminder(self.a, z, at(23, 50))
        a_early = self.crm.reminder(self.a, z, at(9))
        none_ = self.crm.reminder(self.orphan, z, at(7))
        b_mid = self.crm.reminder(self.b, z, at(12))
        # Fired yesterday and never acknowledged: overdue.
        b_overdue = self.crm.tx(
            "INSERT INTO reminders(customer_id, user_id, kind, due_at, "
            "state, fired_at) VALUES (?, ?, 'followup', ?, 'fired', ?)",
            (self.b, z, day - 86400, day - 86400))
        acked = self.crm.reminder(self.a, z, at(10))
        cancelled = self.crm.reminder(self.a, z, at(11))
        tomorrow = self.crm.reminder(self.a, z, day + 86400 + 3600)
        old_acked = self.crm.reminder(self.b, z, day - 3 * 86400)
        self.crm.tx("UPDATE reminders SET acked_at = ? WHERE id IN (?, ?)",
                    (now(), acked, old_acked))
        self.crm.tx("UPDATE reminders SET state = 'cancelled' WHERE id = ?",
                    (cancelled,))
        rows = self.js("today")
        self.assertEqual([r["id"] for r in rows],
                         [a_early, a_late, b_overdue, b_mid, c_late, none_])
        self.assertEqual([r["level"] for r in rows],
                         ["A", "A", "B", "B", "C", None])
        self.assertEqual(rows[2]["when"], "overdue")
        self.assertEqual({r["when"] for r in rows[3:]}, {"today"})
        self.assertNotIn(tomorrow, [r["id"] for r in rows])
        self.assertEqual([r["id"] for r in self.js("today", "--user",
                                                   str(l))], [c_late])
        lines = self.ok("today").splitlines()
        self.assertEqual(len(lines), 7)
        self.assertEqual(lines[0].split()[:3], ["ID", "LEVEL", "CUSTOMER"])
        self.assertIn(MINGYUAN, lines[1])
        self.assertIn("overdue", lines[3])


@AS_ROOT
class ReadOnly(DaemonTest):
    extra_conf = 'read_group = "users";\nadmin_group = "adm";\n'

    def test_reader_may_list_but_not_change(self):
        from test_auth import nobody_in
        self.d.start()
        crm = Crm(self.d)
        self.addCleanup(crm.close)
        u = crm.user()
        c = crm.customer(owner=u)
        rid = crm.reminder(c, u, now() + 86400)
        reader = nobody_in("users")
        for args in (["today"], ["reminder", "list"], ["plan", "list"]):
            r = self.d.ctl("--json", *args, user=reader)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = self.d.ctl("--json", "reminder", "list", user=reader)
        self.assertEqual([x["id"] for x in json.loads(r.stdout)], [rid])
        for args in (["reminder", "add", "--customer", str(c), "--at",
                      "2030-01-01 09:00"],
                     ["reminder", "cancel", str(rid)],
                     ["plan", "add", "--customer", str(c), "--rrule",
                      "FREQ=DAILY"]):
            r = self.d.ctl(*args, user=reader)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("needs admin", r.stderr)
        self.assertEqual(crm.state(rid), "pending")
        self.assertEqual(crm.q1("SELECT count(*) FROM reminders"), 1)
        self.assertEqual(crm.q1("SELECT count(*) FROM audit_log WHERE "
                                "action = 'control.refused'"), 3)


if __name__ == "__main__":
    unittest.main()
