"""The admin commands for the outbox through the real crmctl and crmd:
outbox list/show/retry/purge and test-send.  The CRM side (its outbox
rows) is played by this process writing the SQLite file; test-send is
checked end to end against Debian's aiosmtpd and Python's http.server on
loopback.

crmd's sender runs all the while, so the rows each test inserts are ones
it leaves alone: sent and dead rows, queued rows due later, sending rows
under a long lease.  Where a test needs a row queued and due now to stay
put (retry), it is a customer SMS inside quiet hours, which the sender
only defers."""
import calendar
import datetime
import json
import os
import re
import socket
import threading
import time
import unicodedata
import unittest
import http.server
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

TZ = ZoneInfo("Asia/Shanghai")
AS_ROOT = unittest.skipUnless(os.geteuid() == 0,
                              "setpriv to another user needs root")
LIST_KEYS = {"id", "channel", "audience", "recipient", "subject", "state",
             "attempts", "next_attempt_at", "next_attempt", "lease_until",
             "lease", "last_error", "idempotency_key", "reminder_id",
             "customer_id", "created_at", "created", "sent_at", "sent"}
LONG_SUBJECT = "【回访提醒】上海明远科技有限公司的年度合同续约报价需要今天确认"


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


def local(t):
    return datetime.datetime.fromtimestamp(t, TZ).strftime(
        "%Y-%m-%d %H:%M:%S")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OutboxTest(DaemonTest):
    def setUp(self):
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)
        self.actor = "uid:%d" % os.geteuid()

    # ---- the CRM's side ----

    def queue(self, channel="email", recipient="zhangwei@example.com",
              subject="", body="正文", state="queued", attempts=0,
              next_at=None, lease=None, error=None, key=None, created=None,
              sent=None, audience="user", customer=None):
        t = now()
        return self.crm.tx(
            "INSERT INTO outbox (channel, recipient, subject, body, state,"
            " attempts, next_attempt_at, lease_until, last_error,"
            " idempotency_key, created_at, sent_at, audience, customer_id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (channel, recipient, subject, body, state, attempts,
             t + 86400 if next_at is None else next_at, lease, error, key,
             t if created is None else created, sent, audience, customer))

    def many(self, rows):
        """Inserts (state, sent_at) rows in one transaction."""
        c = self.crm.db
        c.execute("BEGIN IMMEDIATE")
        c.executemany("INSERT INTO outbox (channel, recipient, state,"
                      " attempts, next_attempt_at, sent_at, audience,"
                      " last_error) VALUES (?, ?, ?, 1, ?, ?, ?, ?)", rows)
        c.execute("COMMIT")

    def row(self, oid):
        c = self.crm.db.execute("SELECT * FROM outbox WHERE id = ?", (oid,))
        r = c.fetchone()
        return dict(zip([d[0] for d in c.description], r)) if r else None

    def audit(self, action):
        return self.crm.q("SELECT actor, customer_id, detail FROM audit_log "
                          "WHERE action = ? ORDER BY id", (action,))

    # ---- crmctl ----

    def ok(self, *args):
        r = self.d.ctl(*args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def js(self, *args):
        return json.loads(self.ok("--json", *args))

    def fails(self, code, *args):
        r = self.d.ctl(*args)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        return r.stderr

    def raw(self, cmd, args):
        return self.d.request({"v": 1, "cmd": cmd, "args": args})


class Unconfigured(OutboxTest):
    """No channel configured: list, show, retry refusals, purge, and
    test-send's refusal."""

    def test_list_newest_first_with_filters_and_json_keys(self):
        a = self.queue(subject="报价", key="reminder:1:email")
        b = self.queue("sms", "+8613800000001", state="dead", attempts=3,
                       error="gateway said 400: bad number")
        c = self.queue("webhook", "webhook", state="sent", sent=now() - 60)
        d = self.queue("email", state="sent", sent=now() - 30)
        rows = self.js("outbox", "list")
        self.assertEqual([r["id"] for r in rows], [d, c, b, a])
        self.assertEqual(set(rows[0]), LIST_KEYS)
        self.assertNotIn("body", rows[0])
        self.assertEqual(rows[3]["idempotency_key"], "reminder:1:email")
        self.assertEqual(rows[3]["next_attempt"],
                         local(rows[3]["next_attempt_at"]))
        self.assertIsNone(rows[3]["sent_at"])
        self.assertEqual(rows[2]["last_error"], "gateway said 400: bad number")
        self.assertEqual(rows[2]["audience"], "user")
        self.assertEqual([r["id"] for r in self.js(
            "outbox", "list", "--state", "sent")], [d, c])
        self.assertEqual([r["id"] for r in self.js(
            "outbox", "list", "--state", "sent", "--channel", "email")], [d])
        self.assertEqual([r["id"] for r in self.js(
            "outbox", "list", "--channel", "sms")], [b])
        self.assertEqual([r["id"] for r in self.js(
            "outbox", "list", "--state", "dead", "--channel", "email")], [])
        self.assertEqual([r["id"] for r in self.js(
            "outbox", "list", "--limit", "2")], [d, c])
        self.assertEqual(self.ok("--json", "outbox", "list", "--state",
                                 "sending"), "[]\n")

    def test_list_table_aligns_chinese_and_cuts_long_subjects(self):
        self.queue(subject=LONG_SUBJECT)
        self.queue("sms", "+8613800000001", subject="短信", state="dead",
                   attempts=2, error="x")
        self.queue("email", "li@example.com", subject="Renewal",
                   state="sent", sent=now())
        lines = self.ok("outbox", "list").splitlines()
        self.assertEqual(len(lines), 4)
        self.assertEqual(lines[0].split(), ["ID", "CHANNEL", "RECIPIENT",
                                            "STATE", "ATTEMPTS", "NEXT",
                                            "ATTEMPT", "SUBJECT"])
        # Every cell starts at the same display column as its header (the
        # right-aligned ID and ATTEMPTS aside), Chinese or not.
        head = columns(lines[0])
        self.assertEqual(len(head), 7)
        for line in lines[1:]:
            cols = columns(line)
            self.assertEqual(len(cols), 7, line)
            for i in (1, 2, 3, 5, 6):
                self.assertEqual(cols[i], head[i], line)
            self.assertFalse(line.endswith(" "))
        # Newest first; the next attempt only for queued rows.
        self.assertIn("Renewal", lines[1])
        self.assertEqual(line_cells(lines[1])[5], "-")
        self.assertEqual(line_cells(lines[2])[5], "-")
        self.assertRegex(line_cells(lines[3])[5],
                         r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        # The long subject is cut to 40 columns, ending in an ellipsis.
        subject = lines[3][lines[3].index("【"):]
        self.assertTrue(subject.endswith("…"), subject)
        self.assertLessEqual(width(subject), 40)
        self.assertGreater(width(subject), 37)
        self.assertTrue(LONG_SUBJECT.startswith(subject[:-1]))

    def test_show_every_column(self):
        t = now() - 3600
        oid = self.queue("email", "wang@example.com", subject="合同续约",
                         body="第一行\n第二行", state="dead", attempts=5,
                         error="550 5.1.1 <wang@example.com>: no such user",
                         key="r7.1.email", created=t, next_at=t + 60,
                         audience="customer")
        plain = self.queue("email", "li@example.com")
        self.crm.tx("UPDATE outbox SET recipient_name = '王经理',"
                    " body_html = '<p>第一行</p>\n<p>第二行</p>'"
                    " WHERE id = ?", (oid,))
        out = self.ok("outbox", "show", str(oid))
        kv = dict(re.split(r"  +", l, maxsplit=1)
                  for l in out.splitlines())
        self.assertEqual(kv["id"], str(oid))
        self.assertEqual(kv["channel"], "email")
        self.assertEqual(kv["audience"], "customer")
        self.assertEqual(kv["recipient"], "wang@example.com")
        self.assertEqual(kv["recipient name"], "王经理")
        self.assertEqual(kv["html"], "<p>第一行</p>\\n<p>第二行</p>")
        self.assertEqual(kv["state"], "dead")
        self.assertEqual(kv["attempts"], "5")
        self.assertEqual(kv["last error"],
                         "550 5.1.1 <wang@example.com>: no such user")
        self.assertEqual(kv["idempotency key"], "r7.1.email")
        self.assertEqual(kv["created"], local(t))
        self.assertEqual(kv["next attempt"], local(t + 60))
        self.assertEqual(kv["sent"], "-")
        self.assertEqual(kv["lease until"], "-")
        self.assertEqual(kv["subject"], "合同续约")
        self.assertEqual(kv["body"], "第一行\\n第二行")   # one line, escaped
        j = self.js("outbox", "show", str(oid))
        self.assertEqual(set(j), LIST_KEYS | {"body", "recipient_name",
                                             "html"})
        self.assertEqual(j["body"], "第一行\n第二行")
        self.assertEqual(j["recipient_name"], "王经理")
        self.assertEqual(j["html"], "<p>第一行</p>\n<p>第二行</p>")
        self.assertEqual(j["created_at"], t)
        self.assertEqual(j["created"], local(t))
        j = self.js("outbox", "show", str(plain))
        self.assertIsNone(j["recipient_name"])
        self.assertIsNone(j["html"])
        lines = [re.split(r"  +", l) for l in
                 self.ok("outbox", "show", str(plain)).splitlines()]
        self.assertIn(["recipient name", "-"], lines)
        self.assertIn(["html", "-"], lines)
        err = self.fails(1, "outbox", "show", "999")
        self.assertIn("no outbox message 999", err)

    def test_retry_refuses_sent_and_sending_rows(self):
        at = now() - 120
        sent = self.queue(state="sent", sent=at)
        err = self.fails(1, "outbox", "retry", str(sent))
        self.assertIn("conflict", err)
        self.assertIn("outbox message %d was sent at %s;" % (sent, local(at)),
                      err)
        self.assertIn("never sent again", err)
        r = self.raw("outbox.retry", {"id": sent})
        self.assertEqual(r["status"], 409, r)
        busy = self.queue(state="sending", attempts=1, lease=now() + 3600)
        err = self.fails(1, "outbox", "retry", str(busy))
        self.assertIn("is being sent now", err)
        self.assertIn("outbox show %d" % busy, err)
        self.assertIn("no outbox message 999",
                      self.fails(1, "outbox", "retry", "999"))
        self.assertEqual(self.row(sent)["state"], "sent")
        self.assertEqual(self.row(busy)["state"], "sending")
        self.assertEqual(self.audit("outbox.retry"), [])

    def test_purge_deletes_only_old_sent_rows_in_batches(self):
        t = now()
        old, new = t - 40 * 86400, t - 5 * 86400
        rows = []
        for i in range(2600):
            state, sent = [("sent", old), ("sent", old), ("sent", new),
                           ("dead", None), ("queued", None)][i % 5]
            # Queued ones are due tomorrow: the sender leaves them be.
            rows.append(("email", "a%d@example.com" % i, state,
                         t + 86400 if sent is None else sent, sent, "user",
                         None if state != "dead" else "550"))
        self.many(rows)
        # A row that is not in state sent stays, whatever its age, even
        # with a sent_at the CRM may have written.
        kept = self.queue(state="dead", created=old, next_at=old, sent=old)
        out = self.ok("outbox", "purge", "--sent", "--older-than", "30d")
        self.assertRegex(out, r"^purged 1040 sent messages \(sent before "
                         r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)\n$")
        q1 = self.crm.q1
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'sent' AND sent_at < ?", (t - 30 * 86400,)), 0)
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'sent'"), 520)
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'dead'"), 521)
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'queued'"), 520)
        self.assertEqual(self.row(kept)["state"], "dead")
        # One short transaction per window of ids, each audited.
        audits = self.audit("outbox.purge")
        self.assertGreaterEqual(len(audits), 3)
        self.assertEqual(sum(int(d.split()[0]) for _, _, d in audits), 1040)
        self.assertTrue(all(a == self.actor for a, _, _ in audits))
        j = self.js("outbox", "purge", "--sent", "--older-than", "1d")
        self.assertEqual(j["deleted"], 520)
        self.assertEqual(set(j), {"deleted", "before_at", "before"})
        self.assertEqual(j["before"], local(j["before_at"]))
        self.assertEqual(self.ok("outbox", "purge", "--sent", "--older-than",
                                 "1d")[:len("purged 0 ")], "purged 0 ")

    def test_purge_needs_sent_and_an_age(self):
        self.queue(state="sent", sent=now() - 90 * 86400)
        err = self.fails(2, "outbox", "purge", "--older-than", "30d")
        self.assertIn("only sent messages are ever purged: add --sent", err)
        err = self.fails(2, "outbox", "purge", "--sent")
        self.assertIn("--older-than is required", err)
        r = self.raw("outbox.purge", {"older_than": "30d"})
        self.assertEqual(r["status"], 400)
        self.assertIn("add \"sent\": true", r["error"])
        err = self.fails(1, "outbox", "purge", "--sent", "--older-than",
                         "soon")
        self.assertIn("bad duration 'soon'", err)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM outbox"), 1)

    def test_malformed_requests_are_400(self):
        oid = self.queue(state="dead")
        cases = [
            ("outbox.list", {"state": "lost"}, "unknown state 'lost'"),
            ("outbox.list", {"channel": "fax"}, "unknown channel 'fax'"),
            ("outbox.list", {"limit": 0}, "'limit' must be an integer"),
            ("outbox.list", {"limit": "5"}, "'limit' must be an integer"),
            ("outbox.list", {"when": 1}, "unknown argument 'when'"),
            ("outbox.show", {}, "missing argument 'id'"),
            ("outbox.show", {"id": "1"}, "'id' must be a positive integer"),
            ("outbox.show", {"id": 0}, "'id' must be a positive integer"),
            ("outbox.retry", {}, "give either \"id\" or \"dead\""),
            ("outbox.retry", {"id": oid, "dead": True},
             "give either \"id\" or \"dead\""),
            ("outbox.retry", {"dead": False}, "'dead' must be true"),
            ("outbox.retry", {"id": oid, "after": 3},
             "\"after\" goes with \"dead\" only"),
            ("outbox.retry", {"dead": True, "after": -1},
             "'after' must be an integer id, 0 or more"),
            ("outbox.purge", {"sent": "yes", "older_than": "30d"},
             "'sent' must be true"),
            ("outbox.purge", {"sent": True, "older_than": 30},
             "'older_than' must be a string"),
            ("outbox.purge", {"sent": True, "older_than": "0s"},
             "bad duration '0s'"),
            ("outbox.test", {"channel": "fax"}, "unknown channel 'fax'"),
            ("outbox.test", {"recipient": "a@b.cn"},
             "missing argument 'channel'"),
            ("outbox.test", {"channel": "email", "recipient": "x" * 400},
             "'recipient' is longer than 320 bytes"),
        ]
        for cmd, args, msg in cases:
            r = self.raw(cmd, args)
            self.assertEqual(r["status"], 400, (cmd, args, r))
            self.assertIn(msg, r["error"], (cmd, args))
        self.assertEqual(self.row(oid)["state"], "dead")
        self.assertEqual(self.audit("outbox.retry"), [])

    def test_usage_errors_exit_2(self):
        cases = [
            (["outbox", "show"], "missing argument"),
            (["outbox", "show", "x"], "ID must be a number"),
            (["outbox", "retry"], "give the ID of a message, or --dead"),
            (["outbox", "retry", "--dead", "3"], "not both"),
            (["outbox", "retry", "abc"], "ID must be a number"),
            (["outbox", "list", "--limit", "ten"], "--limit wants a number"),
            (["outbox", "list", "--user", "1"], "unknown option --user"),
            (["outbox", "purge", "--dead", "--older-than", "3d"],
             "unknown option --dead"),
            (["test-send"], "missing argument"),
            (["test-send", "email"], "email needs a RECIPIENT"),
            (["test-send", "sms"], "sms needs a RECIPIENT: a phone number"),
            (["test-send", "email", "a@b.cn", "--wait", "soon"],
             "bad --wait \"soon\""),
            (["test-send", "email", "a@b.cn", "extra"], "too many arguments"),
            (["test-send", "email", "a@b.cn", "--wait"],
             "option --wait needs an argument"),
            (["test-send", "email", "a@b.cn", "--frob"],
             "unknown option --frob"),
        ]
        for args, msg in cases:
            err = self.fails(2, *args)
            self.assertIn(msg, err)
            self.assertIn("usage: crmctl", err)

    def test_test_send_to_an_unconfigured_channel_is_422(self):
        for args, group in [(["email", "li@example.com"], "channels.email"),
                            (["sms", "+8613800000001"], "channels.sms"),
                            (["webhook"], "channels.webhook")]:
            err = self.fails(1, "test-send", *args)
            self.assertIn("channel '%s' is not configured: add %s"
                          % (args[0], group), err)
            self.assertIn(self.d.conf, err)
            self.assertIn("crmctl reload", err)
            self.assertIn("nothing was queued", err)
            r = self.raw("outbox.test", {"channel": args[0]})
            self.assertEqual(r["status"], 422, r)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM outbox"), 0)
        self.assertEqual(self.audit("outbox.test"), [])

    def test_locked_database_is_503_at_once(self):
        oid = self.queue(state="dead", customer=None)
        lock = self.d.db_connect()
        lock.execute("BEGIN IMMEDIATE")
        try:
            err = self.fails(1, "outbox", "purge", "--sent", "--older-than",
                             "1d")
            self.assertIn("database busy, try again", err)
            err = self.fails(1, "outbox", "retry", str(oid))
            self.assertIn("temporarily unavailable", err)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.assertEqual(self.row(oid)["state"], "dead")


def line_cells(line):
    return re.split(r"  +", line.strip())


def quiet_now():
    """Quiet hours from an hour ago to two hours ahead, local."""
    t = datetime.datetime.now(TZ)
    m = t.hour * 60 + t.minute
    hhmm = lambda x: "%02d:%02d" % divmod(x % 1440, 60)
    return hhmm(m - 60), hhmm(m + 120)


class QuietSms(OutboxTest):
    """SMS configured (to a port nobody listens on) and quiet hours now:
    customer SMS made due stay queued, deferred by the sender."""

    def setUp(self):
        start, end = quiet_now()
        self.extra_conf = """
channels = {
	sms = {
		url = "http://127.0.0.1:%d/sms";
		format = "json";
		body = "{{\\"to\\":\\"{to}\\",\\"text\\":\\"{text}\\"}}";
		national = { regex = "1[3-9][0-9]{9}"; country = "86"; };
	};
};
quiet_hours = { start = "%s"; end = "%s"; };
""" % (free_port(), start, end)
        super().setUp()

    def customer_sms(self, **kw):
        kw.setdefault("audience", "customer")
        return self.queue("sms", "+8613800000002", **kw)

    def test_retry_one_dead_row_keeps_its_history(self):
        cust = self.crm.customer("上海明远科技有限公司")
        oid = self.customer_sms(state="dead", attempts=4, customer=cust,
                                error="gateway said 400: bad number",
                                next_at=now() - 7200)
        before = now()
        out = self.ok("outbox", "retry", str(oid))
        self.assertRegex(out, r"^outbox %d queued again \(was dead\); next "
                         r"attempt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$" % oid)
        r = self.row(oid)
        self.assertEqual(r["state"], "queued")
        self.assertEqual(r["attempts"], 4)
        self.assertEqual(r["last_error"], "gateway said 400: bad number")
        self.assertGreaterEqual(r["next_attempt_at"], before)
        self.assertIsNone(r["lease_until"])
        [(actor, customer, detail)] = self.audit("outbox.retry")
        self.assertEqual((actor, customer), (self.actor, cust))
        self.assertEqual(detail, "outbox %d (sms to +8613800000002) queued "
                         "again (was dead, 4 attempts; last error: gateway "
                         "said 400: bad number)" % oid)

    def test_retry_json_and_a_queued_row_due_later(self):
        later = now() + 86400
        oid = self.customer_sms(next_at=later, attempts=1)
        j = self.js("outbox", "retry", str(oid))
        self.assertEqual(j["state"], "queued")
        self.assertEqual(j["previous"], "queued")
        self.assertEqual(j["attempts"], 1)
        self.assertLessEqual(j["next_attempt_at"], now())
        self.assertEqual(j["next_attempt"], local(j["next_attempt_at"]))
        self.assertLess(self.row(oid)["next_attempt_at"], later)

    def test_retry_every_dead_row_window_by_window(self):
        t = now()
        rows = [("sms", "+86138%08d" % i, "dead" if i % 3 else "sent",
                 t - 600, None if i % 3 else t, "customer",
                 "timeout" if i % 3 else None) for i in range(2400)]
        self.many(rows)
        out = self.ok("outbox", "retry", "--dead")
        self.assertEqual(out, "1600 dead messages queued again\n")
        q1 = self.crm.q1
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'dead'"), 0)
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'sent'"), 800)
        self.assertEqual(q1("SELECT count(*) FROM outbox WHERE state = "
                            "'queued' AND attempts = 1 AND last_error = "
                            "'timeout'"), 1600)
        audits = self.audit("outbox.retry")
        self.assertGreaterEqual(len(audits), 3)
        self.assertEqual(sum(int(d.split()[0]) for _, _, d in audits), 1600)
        self.assertEqual(self.js("outbox", "retry", "--dead"),
                         {"retried": 0, "skipped": 0})

    def test_retry_leaves_unconfigured_channels_dead(self):
        # Email is not configured here: retrying its dead rows would only
        # kill them again, so they stay dead and are counted.
        t = now()
        self.many([("email", "li%d@example.com" % i, "dead", t - 600, None,
                    "user", "channel email is not configured")
                   for i in range(3)] +
                  [("sms", "+8613800000009", "dead", t - 600, None,
                    "customer", "timeout")])
        mail = self.crm.q1("SELECT min(id) FROM outbox WHERE channel ="
                           " 'email'")
        err = self.fails(1, "outbox", "retry", str(mail))
        self.assertIn("outbox message %d is for channel 'email', which is"
                      " not configured: add channels.email = {" % mail, err)
        self.assertIn("to %s and run crmctl reload, then retry it; it stays"
                      " dead" % self.d.conf, err)
        out = self.ok("outbox", "retry", "--dead")
        self.assertEqual(out, "1 dead message queued again\n3 left dead: "
                         "their channel is not configured (crmctl outbox "
                         "list --state dead shows which; configure it, "
                         "crmctl reload, then retry)\n")
        self.assertEqual(self.crm.q("SELECT channel, state, count(*) FROM"
                                    " outbox GROUP BY 1, 2 ORDER BY 1"),
                         [("email", "dead", 3), ("sms", "queued", 1)])
        self.assertEqual(self.js("outbox", "retry", "--dead"),
                         {"retried": 0, "skipped": 3})

    def test_test_send_sms_checks_and_normalises_the_number(self):
        err = self.fails(1, "test-send", "sms", "12345")
        self.assertIn("cannot send SMS to '12345'", err)
        self.assertIn("nothing was queued", err)
        self.assertEqual(self.raw("outbox.test", {
            "channel": "sms", "recipient": "555-0100"})["status"], 422)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM outbox"), 0)
        out = self.ok("test-send", "sms", "138 0013 8000", "--wait", "0")
        m = re.match(r"^test sms queued as outbox (\d+) to \+8613800138000\n$",
                     out)
        self.assertIsNotNone(m, out)
        r = self.row(int(m.group(1)))
        self.assertEqual(r["recipient"], "+8613800138000")
        self.assertEqual(r["audience"], "user")
        self.assertEqual(r["idempotency_key"], "test:" + m.group(1))
        self.assertIn("crmd 测试消息 / test message", r["subject"])
        self.assertIn("测试消息", r["body"])
        self.assertIn("test message from crmd on", r["body"])
        self.assertEqual(self.audit("outbox.test"),
                         [(self.actor, None, "test sms to +8613800138000 "
                           "queued (outbox %s)" % m.group(1))])


class Sink:
    """aiosmtpd's handler: refuses nobody@, keeps every message."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, opts):
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies = None

    def do_POST(self):
        self.bodies.append(self.rfile.read(
            int(self.headers.get("Content-Length", 0))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class RealServers(OutboxTest):
    """test-send end to end: email to aiosmtpd, webhook to http.server."""

    def setUp(self):
        self.sink = Sink()
        self.smtp = Controller(self.sink, hostname="127.0.0.1",
                               port=free_port())
        self.smtp.start()
        self.addCleanup(self.smtp.stop)
        handler = type("H", (Hook,), {"bodies": []})
        self.hooks = handler.bodies
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                    handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.addCleanup(self.http.server_close)
        self.addCleanup(self.http.shutdown)
        self.extra_conf = """
channels = {
	email = {
		url = "smtp://127.0.0.1:%d";
		from = "客户管理系统 <crm@example.com>";
		starttls = "none";
	};
	webhook = { url = "http://127.0.0.1:%d/hook"; };
};
outbox = { backoff_min = "1s"; backoff_max = "2s"; lifetime = "1h"; };
""" % (self.smtp.port, self.http.server_address[1])
        super().setUp()

    def test_email_is_delivered_and_reported_sent(self):
        out = self.ok("test-send", "email", "admin@example.com", "--wait",
                      "30s")
        m = re.match(r"^test email queued as outbox (\d+) to "
                     r"admin@example.com\nsent at (\d{4}-\d\d-\d\d "
                     r"\d\d:\d\d:\d\d) \(attempt 1\)\n$", out)
        self.assertIsNotNone(m, out)
        oid = int(m.group(1))
        r = self.row(oid)
        self.assertEqual(r["state"], "sent")
        self.assertEqual(local(r["sent_at"]), m.group(2))
        self.assertEqual(r["idempotency_key"], "test:%d" % oid)
        [(rcpts, raw)] = self.sink.messages
        self.assertEqual(rcpts, ["admin@example.com"])
        msg = message_from_bytes(raw, policy=policy.default)
        self.assertEqual(msg["Subject"], "crmd 测试消息 / test message (%s)"
                         % socket.gethostname())
        self.assertIn("test%3A" + str(oid), msg["Message-ID"])
        text = msg.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("测试消息", text)
        self.assertIn("to check the email channel", text)

    def test_refused_recipient_is_reported_dead_with_the_reason(self):
        r = self.d.ctl("test-send", "email", "nobody@example.com")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        m = re.match(r"^test email queued as outbox (\d+) to "
                     r"nobody@example.com\n$", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertIn("test email %s is dead after 1 attempt: " % m.group(1),
                      r.stderr)
        self.assertIn("550", r.stderr)
        self.assertIn("check channels.email in crmd.conf", r.stderr)
        self.assertIn("crmctl outbox show " + m.group(1), r.stderr)
        self.assertEqual(self.row(int(m.group(1)))["state"], "dead")
        self.assertEqual(self.sink.messages, [])

    def test_bad_address_is_422_and_queues_nothing(self):
        for bad in ["a@b@example.com", "li\r\nRCPT TO:<x@evil.com>@x.com",
                    "<li@example.com>", "李@example.com"]:
            err = self.fails(1, "test-send", "email", bad)
            self.assertIn("cannot send email to", err)
            self.assertIn("nothing was queued", err)
        self.assertEqual(self.crm.q1("SELECT count(*) FROM outbox"), 0)

    def test_webhook_goes_to_the_configured_url(self):
        err = self.fails(1, "test-send", "webhook", "http://example.com/x")
        self.assertIn("give no recipient, or \"webhook\"", err)
        j = self.js("test-send", "webhook", "--wait", "30s")
        self.assertEqual(j["outcome"], "sent")
        self.assertEqual(j["message"]["state"], "sent")
        self.assertEqual(j["message"]["recipient"], "webhook")
        self.assertEqual(j["message"]["idempotency_key"],
                         "test:%d" % j["message"]["id"])
        [body] = self.hooks
        payload = json.loads(body)
        self.assertEqual(payload["msgtype"], "text")
        self.assertIn("crmd 在", payload["text"]["content"])
        self.assertIn("check the webhook channel", payload["text"]["content"])


@AS_ROOT
class Permissions(OutboxTest):
    extra_conf = 'read_group = "users";\nadmin_group = "adm";\n'

    def test_readers_may_look_but_not_change(self):
        from test_auth import nobody_in
        reader = nobody_in("users")
        oid = self.queue(state="dead", subject="回访")
        sent = self.queue(state="sent", sent=now() - 90 * 86400)
        r = self.d.ctl("--json", "outbox", "list", user=reader)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x["id"] for x in json.loads(r.stdout)],
                         [sent, oid])
        r = self.d.ctl("outbox", "show", str(oid), user=reader)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("回访", r.stdout)
        for args in (["outbox", "retry", str(oid)],
                     ["outbox", "retry", "--dead"],
                     ["outbox", "purge", "--sent", "--older-than", "1d"],
                     ["test-send", "webhook"]):
            r = self.d.ctl(*args, user=reader)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("needs admin", r.stderr)
            self.assertEqual(r.stdout, "")
        self.assertEqual(self.row(oid)["state"], "dead")
        self.assertIsNotNone(self.row(sent))
        self.assertEqual(self.crm.q1("SELECT count(*) FROM audit_log WHERE "
                                     "action = 'control.refused'"), 4)
        r = self.d.ctl("outbox", "retry", "--dead",
                       user=nobody_in("users", "adm"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_strangers_are_refused(self):
        from test_auth import nobody_in
        os.chmod(self.d.sock, 0o666)
        r = self.d.ctl("outbox", "list", user=nobody_in())
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not authorised", r.stderr)


if __name__ == "__main__":
    unittest.main()
