"""crmctl rule test off the event loop, through the real daemon.

The dry run of a rule over a large customer base takes a while (0.3-0.6 s
on a million customers), so crmd runs it on a worker thread with its own
read-only connection and answers later; meanwhile it answers everything
else.  These tests generate a customer base big enough for a dry run to
take noticeable time and check, by the order things happen (never by a
stopwatch), that:

- ping and status are answered while a rule test runs;
- rule tests at the same time each get the answer they get alone;
- too many at once are told to try again, the others answered;
- a client hanging up mid-dry-run cancels it, and crmd goes on;
- a reload mid-dry-run does not disturb it (it holds its own copy);
- SIGTERM mid-dry-run answers "stopping" and exits 0 at once.

Every test ends with a clean stop, which under ASan (and valgrind, see
tests/valgrind) also means no leak."""
import json
import os
import select
import shutil
import signal
import sqlite3
import tempfile
import unittest

from crmdtest import Daemon, DaemonTest, wait_for

CUSTOMERS = int(os.environ.get("CRMD_IT_DRYRUN_CUSTOMERS", "300000"))
BIG = CUSTOMERS // 100          # every 100th customer buys big and often
DAY = 86400

# 大客户 matches the big buyers, whom the dataset already tags as the rule
# would: the sweep at start finds nothing to change and writes nothing.
# 沉睡客户 (an event rule that never fires) matches everybody else.
RULES = '''
rules_interval = "1h";
rules = (
	{ name = "大客户"; when = "days_since_followup >= 30 and
	  contract_days_left is null and r >= 4 and f >= 4 and m >= 4";
	  add = [ "大客户" ]; },
	{ name = "沉睡客户"; on = "tag_added:从未使用";
	  when = "days_since_order >= 90 and revenue_365d < 1000 and
	  orders_365d >= 1 and days_since_followup >= 30 and
	  contract_days_left is null";
	  remind = { kind = "callback"; within = "24h"; }; }
);
'''

# The limits of daemon/offload.h.
THREADS, MAX_WAITING = 2, 8

_template = {}


def build_dataset(db):
    """CUSTOMERS customers, each with one small order 120 days ago; every
    100th also with 12 orders of 10,000 yuan in the last month, tagged
    大客户 by the rule.  The change feeds are emptied: crmd starts with
    nothing to catch up on."""
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA busy_timeout=10000")
    c.execute("BEGIN IMMEDIATE")
    c.execute("""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
                                WHERE i < ?)
        INSERT INTO customers (id, code, name, status, region, created_at)
        SELECT i, '202601-' || printf('%07d', i), '客户' || i,
               CASE i % 4 WHEN 0 THEN 'potential' WHEN 1 THEN 'intent'
                          WHEN 2 THEN 'won' ELSE 'lost' END,
               '华东', unixepoch() - 400 * 86400 FROM n""", (CUSTOMERS,))
    c.execute("INSERT INTO orders (customer_id, amount, ordered_at) "
              "SELECT id, 50000, unixepoch() - 120 * 86400 FROM customers")
    c.execute("""
        WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k
                                WHERE j < 12)
        INSERT INTO orders (customer_id, amount, ordered_at)
        SELECT id, 1000000, unixepoch() - j * 2 * 86400
        FROM customers, k WHERE id % 100 = 0""")
    c.execute("INSERT INTO tags (name) VALUES ('大客户')")
    c.execute("INSERT INTO customer_tags (customer_id, tag_id, source) "
              "SELECT id, (SELECT id FROM tags WHERE name = '大客户'), "
              "'rule:大客户' FROM customers WHERE id % 100 = 0")
    c.execute("DELETE FROM rule_changes")
    c.execute("DELETE FROM change_log")
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def setUpModule():
    """One dataset for the module: crmd creates the schema, then the CRM
    side fills it while crmd is stopped.  Each test copies the file."""
    d = Daemon(RULES)
    try:
        d.start()
        if d.stop() != 0:
            raise AssertionError("crmd did not stop:\n" + d.log_text())
        build_dataset(d.db)
        _template["dir"] = tempfile.mkdtemp(prefix="crmd-it-dryrun-")
        _template["db"] = os.path.join(_template["dir"], "crmd.db")
        shutil.copy(d.db, _template["db"])
    finally:
        d.cleanup()


def tearDownModule():
    if "dir" in _template:
        shutil.rmtree(_template["dir"], ignore_errors=True)


class Client:
    """One control connection, its replies read line by line."""

    def __init__(self, sock):
        self.sock = sock
        self.replies = sock.makefile("rb")

    def close(self):
        self.replies.close()
        self.sock.close()

    def send(self, cmd, **args):
        self.sock.sendall(json.dumps({"v": 1, "cmd": cmd, "args": args})
                          .encode() + b"\n")

    def reply(self):
        line = self.replies.readline()
        if not line:
            raise AssertionError("connection closed without a reply")
        return json.loads(line)

    def has_reply(self):
        """Whether a reply (or a hang-up) is waiting right now."""
        return bool(select.select([self.sock], [], [], 0)[0])


class RuleTestOffload(DaemonTest):
    extra_conf = RULES

    def setUp(self):
        super().setUp()
        shutil.copy(_template["db"], self.d.db)
        self.d.start()
        # The sweep at start reads every customer on the loop; let it end
        # so that the tests see a daemon with nothing else to do.
        wait_for(self.sweep_done, timeout=60, what="the first sweep")

    def sweep_done(self):
        sweep = self.d.request({"v": 1, "cmd": "rule.list"})["data"]["sweep"]
        return sweep["completed"] >= 1 and not sweep["running"]

    def connect(self):
        c = Client(self.d.connect(timeout=60))
        self.addCleanup(c.close)
        return c

    def wait_log(self, text, count=1):
        wait_for(lambda: self.d.log_text().count(text) >= count,
                 timeout=60, what="%r in the log" % text)

    def rule_test(self, name, **args):
        r = self.d.request({"v": 1, "cmd": "rule.test",
                            "args": dict(name=name, **args)})
        self.assertEqual(r["status"], 200, r)
        return r

    def check_big(self, r, limit=10):
        """The answer for 大客户, known from the dataset."""
        self.assertEqual(r["status"], 200, r)
        data = r["data"]
        self.assertEqual(data["matched"], BIG)
        self.assertEqual([s["id"] for s in data["sample"]],
                         [100 * (i + 1) for i in range(limit)])
        self.assertEqual(data["sample"][0]["facts"],
                         {"days_since_followup": 400,
                          "contract_days_left": None, "r": 5, "f": 5,
                          "m": 5})
        self.assertEqual(data["changes"], [])
        self.assertTrue(data["dry_run"])

    def check_asleep(self, r):
        """The answer for 沉睡客户: every customer but the big buyers."""
        self.assertEqual(r["status"], 200, r)
        data = r["data"]
        self.assertEqual(data["kind"], "event")
        self.assertEqual(data["matched"], CUSTOMERS - BIG)
        self.assertEqual([s["id"] for s in data["sample"]],
                         list(range(1, 11)))
        self.assertEqual(data["sample"][0]["facts"],
                         {"days_since_order": 120, "revenue_365d": 500.0,
                          "orders_365d": 1, "days_since_followup": 400,
                          "contract_days_left": None})

    def test_ping_and_status_are_answered_while_a_rule_test_runs(self):
        a = self.connect()
        a.send("rule.test", name="沉睡客户")
        self.wait_log("dry run of 沉睡客户 for uid:")
        pong = self.d.request({"v": 1, "cmd": "ping"})
        self.assertEqual(pong["status"], 200)
        status = self.d.request({"v": 1, "cmd": "status"})
        self.assertEqual(status["status"], 200)
        self.assertEqual(status["data"]["customers"], CUSTOMERS)
        # Both answered while the rule test's reply has yet to come.
        self.assertFalse(a.has_reply(), "the rule test answered first")
        self.check_asleep(a.reply())
        # The connection is read again once its reply has gone.
        a.send("ping")
        self.assertEqual(a.reply()["status"], 200)

    def test_requests_on_one_connection_are_answered_in_order(self):
        a = self.connect()
        a.sock.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in (
            {"v": 1, "cmd": "rule.test", "args": {"name": "大客户"}},
            {"v": 1, "cmd": "ping"},
            {"v": 1, "cmd": "rule.test",
             "args": {"name": "大客户", "limit": 3}},
            {"v": 1, "cmd": "ping"})))
        self.check_big(a.reply())
        self.assertTrue(a.reply()["data"]["pong"])
        self.check_big(a.reply(), limit=3)
        self.assertTrue(a.reply()["data"]["pong"])

    def test_rule_tests_at_once_get_the_answers_they_get_alone(self):
        alone_big = self.rule_test("大客户", limit=20)
        alone_asleep = self.rule_test("沉睡客户")
        self.check_big(alone_big, limit=20)
        self.check_asleep(alone_asleep)
        clients = [self.connect() for _ in range(3)]
        clients[0].send("rule.test", name="大客户", limit=20)
        clients[1].send("rule.test", name="沉睡客户")
        clients[2].send("rule.test", name="大客户", limit=20)
        self.assertEqual(clients[0].reply(), alone_big)
        self.assertEqual(clients[1].reply(), alone_asleep)
        self.assertEqual(clients[2].reply(), alone_big)

    def test_too_many_rule_tests_at_once_are_told_to_try_again(self):
        n = THREADS + MAX_WAITING + 2
        clients = [self.connect() for _ in range(n)]
        for c in clients:
            c.send("rule.test", name="大客户")
        replies = [c.reply() for c in clients]
        busy = [r for r in replies if r["status"] == 503]
        self.assertEqual(len(busy), 2, replies)
        for r in busy:
            self.assertIn("try again", r["error"])
        for r in replies:
            if r["status"] != 503:
                self.check_big(r)
        # Once those are done there is room again.
        self.check_big(self.rule_test("大客户"))

    def test_a_client_hanging_up_cancels_its_dry_run(self):
        a = self.connect()
        a.send("rule.test", name="沉睡客户")
        self.wait_log("dry run of 沉睡客户 for uid:")
        a.close()
        self.wait_log("dry run of 沉睡客户: the client went away")
        self.wait_log("dry run of 沉睡客户 cancelled")
        self.assertNotIn("dry run of 沉睡客户 done", self.d.log_text())
        self.assertEqual(self.d.request({"v": 1, "cmd": "ping"})["status"],
                         200)
        self.check_asleep(self.rule_test("沉睡客户"))

    def test_a_reload_during_a_dry_run_does_not_disturb_it(self):
        a = self.connect()
        a.send("rule.test", name="大客户", limit=20)
        self.wait_log("dry run of 大客户 for uid:")
        # The rule goes away and its config is freed; the dry run holds
        # its own copy and finishes with what was asked.
        self.d.write_conf('rules = ( { name = "其他"; '
                          'when = "orders_90d >= 1"; add = [ "其他" ]; } );')
        r = self.d.request({"v": 1, "cmd": "reload"})
        self.assertEqual(r["status"], 200, r)
        self.assertFalse(a.has_reply(), "the rule test answered first")
        self.check_big(a.reply(), limit=20)
        r = self.d.ctl("rule", "test", "大客户")
        self.assertEqual(r.returncode, 1)
        self.assertIn("crmctl rule list", r.stderr)

    def test_sigterm_during_dry_runs_answers_stopping_and_exits(self):
        # Two running, two waiting for a worker.
        clients = [self.connect() for _ in range(THREADS + 2)]
        for c in clients:
            c.send("rule.test", name="沉睡客户")
        self.wait_log("dry run of 沉睡客户 for uid:", count=len(clients))
        self.d.proc.send_signal(signal.SIGTERM)
        for c in clients:
            r = c.reply()
            self.assertEqual(r["status"], 503, r)
            self.assertIn("crmd is stopping", r["error"])
        self.assertEqual(self.d.proc.wait(30), 0, self.d.log_text()[-4000:])
        self.assertNotIn("dry run of 沉睡客户 done", self.d.log_text())
        self.assertFalse(os.path.exists(self.d.sock))


if __name__ == "__main__":
    unittest.main()
