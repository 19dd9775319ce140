"""Stale flags, event rules and lead assignment through the real daemon,
with the CRM side played by this process writing the SQLite file
(docs/rules.md, "Stale flags, event rules, assignment")."""
import json
import random
import re
import time
import unittest

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

DAY = 86400
ALWAYS_OPEN = ('working_hours = { days = ["sun", "mon", "tue", "wed", "thu",'
               ' "fri", "sat"]; start = "00:00"; end = "24:00"; };\n')
# Sweeps on their schedule only at start: the tests ask for the others.
QUIET = 'rules_interval = "1h";\n'


class Automation(DaemonTest):
    def setUp(self):
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)

    def customer(self, name, status="potential", owner=None, region=None,
                 level="A", created=None):
        self.crm.seq += 1
        return self.crm.tx(
            "INSERT INTO customers(code, name, status, level, owner_id, "
            "region, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("202611-%04d" % self.crm.seq, name, status, level, owner,
             region, now() if created is None else created))

    def followup(self, customer, user, at):
        return self.crm.tx("INSERT INTO followups(customer_id, user_id, at,"
                           " content) VALUES (?, ?, ?, '电话沟通')",
                           (customer, user, at))

    def tag(self, customer, name):
        c = self.crm.db
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
        c.execute("INSERT INTO customer_tags(customer_id, tag_id) SELECT ?, "
                  "id FROM tags WHERE name = ?", (customer, name))
        c.execute("COMMIT")

    def state(self, key):
        return self.crm.q1("SELECT value FROM crmd_state WHERE key = ?",
                           (key,))

    def feed_done(self):
        """Every rule_changes row so far handled by the event handler."""
        head = self.crm.q1("SELECT coalesce(max(id), 0) FROM rule_changes")
        wait_for(lambda: (self.state("events.cursor") or 0) >= head,
                 what="the event handler to reach change %d" % head)

    def audit(self, action, customer=None):
        if customer is None:
            return self.crm.q("SELECT actor, detail FROM audit_log WHERE "
                              "action = ? ORDER BY id", (action,))
        return self.crm.q("SELECT actor, detail FROM audit_log WHERE "
                          "action = ? AND customer_id = ? ORDER BY id",
                          (action, customer))

    def ctl_ok(self, *args):
        r = self.d.ctl(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


class StaleFlags(Automation):
    extra_conf = ALWAYS_OPEN + QUIET + """
stale = (
  { status = "potential"; days = 30; escalate_after = "3s";
    channels = [ "inapp", "email" ]; },
  { status = "intent"; days = 7; }
);
"""

    def setUp(self):
        super().setUp()
        # The start-up sweep finishes before the test writes anything, so
        # every later flag is this test's own sweeps' doing.
        wait_for(lambda: self.d.request({"v": 1, "cmd": "stale.sweep",
                                         "args": {"id": 1}})
                 .get("data", {}).get("done"), what="the start-up sweep")
        self.boss = self.crm.user(name="王经理", email="wang@example.com")
        self.u = self.crm.user(name="张伟", manager=self.boss)
        t = now()
        # 40 days since the last follow-up: stale at 30 days.
        self.a = self.customer("上海明远科技有限公司", created=t - 90 * DAY)
        self.followup(self.a, self.u, t - 40 * DAY)
        self.crm.tx("UPDATE customers SET owner_id = ? WHERE id = ?",
                    (self.u, self.a))
        # Followed up 5 days ago: fine.
        self.b = self.customer("杭州青禾贸易", owner=self.u,
                               created=t - 90 * DAY)
        self.followup(self.b, self.u, t - 5 * DAY)
        # An intent customer 8 days without a follow-up: stale at 7.
        self.c = self.customer("苏州远帆电子", status="intent", owner=self.u,
                               created=t - 8 * DAY - 60)
        # Won customers have no entry; a new potential one is fine.
        self.w = self.customer("南京嘉和", status="won", owner=self.u,
                               created=t - 400 * DAY)
        self.e = self.customer("宁波新客", owner=self.u, created=t - 5 * DAY)
        # Entered recently, but its history says 40 days: stale, as the
        # rules' days_since_followup counts it.
        self.f = self.customer("无锡旧账", owner=self.u)
        self.followup(self.f, self.u, t - 40 * DAY)
        # A follow-up dated in the future does not count yet.
        self.g = self.customer("常州未来", owner=self.u, created=t - 90 * DAY)
        self.followup(self.g, self.u, t + 3 * DAY)
        self.feed_done()

    def open_flags(self):
        return dict(self.crm.q("SELECT customer_id, reason FROM "
                               "customer_flags WHERE flag = 'stale' AND "
                               "cleared_at IS NULL"))

    def notices(self, user, title_prefix):
        return self.crm.q("SELECT customer_id, title, body FROM notifications"
                          " WHERE user_id = ? AND title LIKE ? ORDER BY id",
                          (user, title_prefix + "%"))

    def sweep(self):
        out = self.ctl_ok("stale", "sweep")
        m = re.fullmatch(r"stale sweep (\d+) done: (\d+) flagged, (\d+) "
                         r"cleared, (\d+) owners notified, (\d+) escalated "
                         r"to managers\n", out)
        self.assertIsNotNone(m, out)
        return [int(x) for x in m.groups()[1:]]

    def test_flag_notify_once_escalate_once_clear_on_followup(self):
        self.assertEqual(self.sweep(), [4, 0, 4, 0])
        self.assertEqual(self.open_flags(), {
            self.a: "30 天未跟进（潜在客户）",
            self.c: "7 天未跟进（意向客户）",
            self.f: "30 天未跟进（潜在客户）",
            self.g: "30 天未跟进（潜在客户）"})
        told = self.notices(self.u, "【需重点关注】")
        self.assertEqual(sorted(r[0] for r in told),
                         sorted([self.a, self.c, self.f, self.g]))
        self.assertIn("30 天未跟进（潜在客户）", dict(
            (r[0], r[2]) for r in told)[self.a])
        # The potential entry also goes by email; the intent one does not.
        mails = self.crm.q("SELECT customer_id, recipient, idempotency_key "
                           "FROM outbox WHERE channel = 'email'")
        self.assertEqual(sorted(r[0] for r in mails),
                         sorted([self.a, self.f, self.g]))

        # Sweeping again tells nobody anything new.
        self.assertEqual(self.sweep(), [0, 0, 0, 0])
        self.assertEqual(len(self.notices(self.u, "【需重点关注】")), 4)

        # After escalate_after, the manager hears of the potential ones,
        # once.
        time.sleep(3.2)
        self.assertEqual(self.sweep(), [0, 0, 0, 3])
        self.assertEqual(self.sweep(), [0, 0, 0, 0])
        boss = self.notices(self.boss, "【长期未跟进】")
        self.assertEqual(sorted(r[0] for r in boss),
                         sorted([self.a, self.f, self.g]))
        self.assertIn("张伟", boss[0][1])
        self.assertEqual(len(self.audit("stale.escalated")), 3)
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM customer_flags WHERE escalated_at IS NOT "
            "NULL"), 3)

        # A follow-up clears the flag within seconds, without a sweep,
        # and the clearing is audited.
        self.followup(self.a, self.u, now())
        wait_for(lambda: self.a not in self.open_flags(),
                 what="the flag to clear")
        cleared = self.audit("stale.cleared", self.a)
        self.assertEqual(len(cleared), 1)
        self.assertEqual(cleared[0][0], "crmd")
        self.assertIn("follow-up recorded", cleared[0][1])
        self.assertIn("30 天未跟进", cleared[0][1])
        # History stays; nothing else moved.
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM customer_flags WHERE customer_id = ? AND "
            "cleared_at IS NOT NULL", (self.a,)), 1)
        self.assertEqual(set(self.open_flags()), {self.c, self.f, self.g})
        self.assertEqual(self.sweep(), [0, 0, 0, 0])

    def test_status_change_clears_in_the_sweep_too(self):
        self.sweep()
        # The CRM moves an intent customer to won (no entry); and one
        # potential customer gets a follow-up while crmd is stopped.
        self.assertEqual(self.d.stop(), 0)
        self.crm.tx("UPDATE customers SET status = 'won' WHERE id = ?",
                    (self.c,))
        self.followup(self.f, self.u, now() - DAY)
        self.d.start()
        self.assertEqual(set(self.open_flags()), {self.a, self.g})
        self.assertIn("status changed to won",
                      self.audit("stale.cleared", self.c)[0][1])
        self.assertIn("follow-up recorded",
                      self.audit("stale.cleared", self.f)[0][1])

    def test_sweep_clears_flags_a_reload_ended(self):
        # No event says these flags ended: only the sweep can find them.
        self.assertEqual(self.sweep(), [4, 0, 4, 0])
        self.d.write_conf(ALWAYS_OPEN + QUIET + """
stale = ( { status = "potential"; days = 60; } );
""")
        self.ctl_ok("reload")
        self.assertEqual(self.sweep(), [0, 3, 0, 0])
        # The 90-day-old customer whose only follow-up lies ahead is still
        # 90 days without contact.
        self.assertEqual(set(self.open_flags()), {self.g})
        self.assertIn("status is now intent, which has no stale entry",
                      self.audit("stale.cleared", self.c)[0][1])
        for cust in (self.a, self.f):
            self.assertRegex(self.audit("stale.cleared", cust)[0][1],
                             r"cleared: last contact .* is within 60 days")
        self.assertEqual(self.sweep(), [0, 0, 0, 0])

    def test_list_and_json(self):
        self.sweep()
        out = self.ctl_ok("stale", "list")
        lines = out.splitlines()
        self.assertTrue(lines[0].split()[:4] == ["CUSTOMER", "NAME", "LEVEL",
                                                 "STATUS"], out)
        self.assertEqual(len(lines), 5, out)
        self.assertIn("上海明远科技有限公司", out)
        self.assertIn("7 天未跟进（意向客户）", out)
        self.assertNotIn("杭州青禾贸易", out)

        rows = json.loads(self.ctl_ok("--json", "stale", "list"))
        # Oldest first: the potential entry's flags were raised first.
        self.assertEqual([r["customer_id"] for r in rows],
                         [self.a, self.f, self.g, self.c])
        a = rows[0]
        for key in ("flag_id", "customer", "code", "level", "status",
                    "owner_id", "owner", "reason", "days", "last_contact",
                    "since_at", "since", "notified_at", "escalated_at"):
            self.assertIn(key, a)
        self.assertEqual(a["owner"], "张伟")
        self.assertEqual(a["days"], 40)
        self.assertEqual(a["status"], "potential")
        self.assertIsNotNone(a["notified_at"])
        self.assertIsNone(a["escalated_at"])

        mine = json.loads(self.ctl_ok("--json", "stale", "list", "--user",
                                      str(self.u)))
        self.assertEqual(len(mine), 4)
        self.assertEqual(json.loads(self.ctl_ok(
            "--json", "stale", "list", "--user", str(self.boss))), [])
        self.assertEqual(len(json.loads(self.ctl_ok(
            "--json", "stale", "list", "--limit", "1"))), 1)

        s = json.loads(self.ctl_ok("--json", "stale", "sweep"))
        self.assertEqual(s["done"], True)
        self.assertEqual((s["flagged"], s["cleared"], s["notified"]),
                         (0, 0, 0))

        s = json.loads(self.ctl_ok("--json", "stale", "sweep", "--wait",
                                   "1m"))
        self.assertEqual(s["done"], True)

        bad = self.d.ctl("stale", "list", "--user", "x")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--user wants a number", bad.stderr)
        bad = self.d.ctl("stale", "sweep", "--wait", "soon")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--wait wants a duration", bad.stderr)
        # crmd checks the arguments itself: a sweep's id is positive.
        r = self.d.request({"v": 1, "cmd": "stale.sweep", "args": {"id": 0}})
        self.assertEqual(r["status"], 400)


class StaleTemplates(Automation):
    """templates.stale overrides the built-in texts, channel by channel."""
    extra_conf = ALWAYS_OPEN + QUIET + """
stale = ( { status = "potential"; days = 30;
            channels = [ "inapp", "email" ]; } );
templates = {
  stale = {
    inapp = { subject = "【重点】{customer.name}：{reminder.note}"; };
    email = { subject = "请跟进 {customer.name}";
              body = "{user.name}：{reminder.note}"; };
  };
};
"""

    def test_stale_messages_use_the_configured_templates(self):
        u = self.crm.user(name="张伟")
        c = self.customer("上海明远科技有限公司", owner=u,
                          created=now() - 90 * DAY)
        self.ctl_ok("stale", "sweep")
        wait_for(lambda: self.crm.q1("SELECT count(*) FROM outbox WHERE"
                                     " customer_id = ?", (c,)),
                 what="the owner to be told")
        self.assertEqual(self.crm.q1("SELECT title FROM notifications WHERE"
                                     " customer_id = ?", (c,)),
                         "【重点】上海明远科技有限公司：30 天未跟进（潜在客户）")
        [(subject, body)] = self.crm.q("SELECT subject, body FROM outbox"
                                       " WHERE customer_id = ? AND channel"
                                       " = 'email'", (c,))
        self.assertEqual(subject, "请跟进 上海明远科技有限公司")
        self.assertIn("张伟：30 天未跟进（潜在客户）", body)


class Callback(Automation):
    """The manuals' example: tag 高意向 -> call back within 24 hours."""
    extra_conf = ALWAYS_OPEN + QUIET + """
rules = (
  { name = "高意向回电"; on = "tag_added:高意向";
    remind = { kind = "callback"; within = "24h"; channels = [ "inapp" ]; };
    notify = { channels = [ "inapp" ]; }; },
  { name = "A类成交"; on = "status_changed:won"; when = "level = 'A'";
    notify = { }; }
);
"""

    def setUp(self):
        super().setUp()
        self.u = self.crm.user()
        self.x = self.customer("上海明远科技有限公司", status="intent",
                               owner=self.u)
        self.y = self.customer("杭州青禾贸易", status="intent", owner=self.u)

    def reminders(self, customer):
        return self.crm.q("SELECT id, kind, due_at, state, source, dedup_key,"
                          " user_id, note FROM reminders WHERE customer_id = ?",
                          (customer,))

    def test_callback_created_then_cancelled_by_followup(self):
        self.tag(self.x, "高意向")
        self.tag(self.y, "高意向")
        self.feed_done()
        rx, = self.reminders(self.x)
        ry, = self.reminders(self.y)
        chg = self.crm.q1("SELECT id FROM rule_changes WHERE customer_id = ? "
                          "AND event = 'tag_added'", (self.x,))
        at = self.crm.q1("SELECT at FROM rule_changes WHERE id = ?", (chg,))
        self.assertEqual(rx[1], "callback")
        self.assertEqual(rx[2], at + 24 * 3600)
        self.assertEqual(rx[3], "pending")
        self.assertEqual(rx[4], "rule:高意向回电")
        self.assertEqual(rx[5], "event:高意向回电:%d" % chg)
        self.assertEqual(rx[6], self.u)
        self.assertIn("24 小时内回电", rx[7])
        n = self.crm.q("SELECT title, body FROM notifications WHERE "
                       "customer_id = ?", (self.x,))
        self.assertEqual(len(n), 1)
        self.assertIn("【客户动态】", n[0][0])
        self.assertIn("新增标签「高意向」", n[0][1])
        self.assertEqual(len(self.audit("event.reminder", self.x)), 1)
        self.assertEqual(self.audit("event.reminder", self.x)[0][0],
                         "rule:高意向回电")

        # The follow-up comes first: the callback is cancelled, audited;
        # the other customer's stays.
        self.followup(self.x, self.u, now())
        wait_for(lambda: self.reminders(self.x)[0][3] == "cancelled",
                 what="the callback to be cancelled")
        self.assertEqual(self.reminders(self.y)[0][3], "pending")
        c = self.audit("event.reminder_cancelled", self.x)
        self.assertEqual(len(c), 1)
        self.assertIn("reminder %d (rule:高意向回电)" % rx[0], c[0][1])

        # Another tag is not 高意向: nothing happens.
        self.tag(self.y, "价格敏感")
        self.feed_done()
        self.assertEqual(len(self.reminders(self.y)), 1)

    def test_when_is_evaluated_for_the_customer(self):
        b = self.customer("苏州远帆电子", status="intent", owner=self.u,
                          level="B")
        for cid in (self.x, b):
            self.crm.tx("UPDATE customers SET status = 'won' WHERE id = ?",
                        (cid,))
        self.feed_done()
        told = [r[0] for r in self.crm.q(
            "SELECT customer_id FROM notifications WHERE title LIKE "
            "'【客户动态】%'")]
        self.assertEqual(told, [self.x])
        body = self.crm.q1("SELECT body FROM notifications WHERE "
                           "customer_id = ?", (self.x,))
        self.assertIn("状态变为 成交", body)
        self.assertIn("规则「A类成交」", body)

    def test_no_owner_is_skipped_with_a_trace(self):
        z = self.customer("无主客户", status="intent")
        self.tag(z, "高意向")
        self.feed_done()
        self.assertEqual(self.reminders(z), [])
        self.assertEqual(len(self.audit("event.skipped", z)), 1)


class ExactlyOnce(Automation):
    extra_conf = ALWAYS_OPEN + QUIET + """
rules = (
  { name = "高意向回电"; on = "tag_added:高意向";
    remind = { kind = "callback"; within = "24h"; };
    notify = { channels = [ "inapp" ]; }; }
);
"""

    def test_each_event_once_across_kill_and_restart(self):
        u = self.crm.user()
        ids = [self.customer("客户%03d" % i, owner=u) for i in range(90)]
        rnd = random.Random(5)
        for part in range(3):
            # 30 events in one CRM transaction, and crmd killed at once
            # or a moment later: before, during or after handling them.
            c = self.crm.db
            c.execute("BEGIN IMMEDIATE")
            c.execute("INSERT OR IGNORE INTO tags(name) VALUES ('高意向')")
            for cid in ids[part * 30:(part + 1) * 30]:
                c.execute("INSERT INTO customer_tags(customer_id, tag_id) "
                          "SELECT ?, id FROM tags WHERE name = '高意向'",
                          (cid,))
            c.execute("COMMIT")
            time.sleep(rnd.choice([0, 0.005, 0.02, 0.1]))
            self.d.proc.kill()
            self.d.proc.wait()
            self.d.logf.close()
            self.d.start()
        # And one clean restart in between events.
        self.feed_done()
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.feed_done()

        per = self.crm.q("SELECT customer_id, count(*) FROM reminders "
                         "GROUP BY customer_id")
        self.assertEqual(sorted(per), [(cid, 1) for cid in ids])
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM notifications WHERE title LIKE "
            "'【客户动态】%'"), 90)
        self.assertEqual(len(self.audit("event.reminder")), 90)
        self.assertEqual(len(self.audit("event.notify")), 90)
        head = self.crm.q1("SELECT max(id) FROM rule_changes")
        self.assertGreaterEqual(self.state("events.cursor"), 90)
        self.assertLessEqual(self.state("events.cursor"), head)

    def snapshot(self):
        """Both cursors and the table, read in one statement."""
        return self.crm.db.execute(
            "SELECT (SELECT value FROM crmd_state WHERE key = "
            "'events.cursor'), (SELECT value FROM crmd_state WHERE key = "
            "'rules.cursor'), min(id), max(id), count(*) "
            "FROM rule_changes").fetchone()

    def test_rows_are_deleted_only_behind_both_cursors(self):
        u = self.crm.user()
        cids = [self.customer("客户%02d" % i, owner=u) for i in range(40)]
        # While both readers work through a flood, no row after the
        # slower cursor is ever missing.
        for cid in cids:
            self.tag(cid, "高意向")
            ev, rc, low, high, n = self.snapshot()
            behind = min(ev or 0, rc or 0)
            self.assertEqual(self.crm.q1(
                "SELECT count(*) FROM rule_changes WHERE id > ?",
                (behind,)), high - behind)
        self.feed_done()
        head = self.crm.q1("SELECT max(id) FROM rule_changes")
        # Once both are past everything, only the newest row stays: the
        # ids are rowids and must not start again from 1.
        wait_for(lambda: self.snapshot()[2:] == (head, head, 1),
                 what="rows behind both cursors to be deleted")
        late = self.customer("之后", owner=u)
        self.tag(late, "高意向")
        self.feed_done()
        self.assertGreater(self.crm.q1("SELECT max(id) FROM rule_changes"),
                           head)
        self.assertEqual(self.crm.q1(
            "SELECT count(*) FROM reminders WHERE customer_id = ?",
            (late,)), 1)


class Assignment(Automation):
    # Users 1-3 are the 华东 pool, 4-5 the 华南 one (ids of a fresh file).
    extra_conf = ALWAYS_OPEN + QUIET + """
assign = (
  { when = "region = '华东'"; users = [ 1, 2, 3 ]; method = "round_robin"; },
  { when = "region = '华南'"; users = [ 4, 5 ]; method = "least_loaded"; }
);
"""

    def setUp(self):
        super().setUp()
        names = ["张伟", "李娜", "王芳", "刘洋", "陈静"]
        self.users = [self.crm.user(name=n, email="u%d@example.com" % i)
                      for i, n in enumerate(names)]
        self.assertEqual(self.users, [1, 2, 3, 4, 5])
        self.crm.tx("UPDATE users SET active = 0 WHERE id = 2")

    def owner(self, cid):
        return self.crm.q1("SELECT owner_id FROM customers WHERE id = ?",
                           (cid,))

    def add_many(self, rows):
        """Customers (name, region, owner, status) in one transaction."""
        c = self.crm.db
        ids = []
        c.execute("BEGIN IMMEDIATE")
        for name, region, owner, status in rows:
            self.crm.seq += 1
            ids.append(c.execute(
                "INSERT INTO customers(code, name, region, owner_id, status)"
                " VALUES (?, ?, ?, ?, ?)", ("202611-%04d" % self.crm.seq,
                                            name, region, owner,
                                            status)).lastrowid)
        c.execute("COMMIT")
        return ids

    def test_round_robin_skips_inactive_and_owned(self):
        ids = self.add_many([("华东一", "华东", None, "potential"),
                             ("华东二", "华东", None, "potential"),
                             ("华东已有", "华东", 5, "potential"),
                             ("华东三", "华东", None, "potential"),
                             ("华东四", "华东", None, "potential"),
                             ("西北", "西北", None, "potential")])
        self.feed_done()
        self.assertEqual([self.owner(c) for c in ids], [1, 3, 5, 1, 3, None])
        a = self.audit("customer.assigned")
        self.assertEqual(len(a), 4)
        self.assertEqual(a[0][0], "crmd")
        self.assertIn("round_robin", a[0][1])
        self.assertIn("region = '华东'", a[0][1])
        self.assertEqual(self.audit("customer.assigned", ids[2]), [])
        n = self.crm.q("SELECT user_id, title, body FROM notifications "
                       "WHERE customer_id = ?", (ids[0],))
        self.assertEqual(len(n), 1)
        self.assertEqual(n[0][0], 1)
        self.assertIn("【新客户分配】华东一", n[0][1])
        # The position survives a restart: the next goes to user 1.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        more = self.add_many([("华东五", "华东", None, "potential")])
        self.feed_done()
        self.assertEqual(self.owner(more[0]), 1)

    def test_least_loaded_counts_open_customers(self):
        self.add_many([("旧%d" % i, "华南", 4, "won") for i in range(3)] +
                      [("旧流失%d" % i, "华南", 5, "lost") for i in range(2)] +
                      [("旧%d" % i, "华南", 5, "intent") for i in range(2)])
        self.feed_done()
        ids = self.add_many([("华南%d" % i, "华南", None, "potential")
                             for i in range(3)])
        self.feed_done()
        # 4 has 3 open, 5 has 2 open (+2 lost): 5, then a tie -> 4, then 5.
        self.assertEqual([self.owner(c) for c in ids], [5, 4, 5])
        self.assertIn("least_loaded", self.audit("customer.assigned",
                                                 ids[0])[0][1])

    def test_sweep_assigns_customers_left_without_owner(self):
        ids = self.add_many([("华东一", "华东", 1, "potential")])
        self.feed_done()
        # The CRM unassigns it while crmd is down (no customer_created
        # event): the sweep at start finds it.
        self.assertEqual(self.d.stop(), 0)
        self.crm.tx("UPDATE customers SET owner_id = NULL WHERE id = ?",
                    (ids[0],))
        self.d.start()
        wait_for(lambda: self.owner(ids[0]) is not None,
                 what="the sweep to assign it")
        self.assertIn(self.owner(ids[0]), (1, 3))
        self.assertEqual(len(self.audit("customer.assigned", ids[0])), 1)


if __name__ == "__main__":
    unittest.main()
