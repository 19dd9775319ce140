"""Tagging rules through the real daemon: the CRM side (this process)
writes customers, orders, follow-ups and tags into the SQLite file, and
crmd's rules engine tags and untags within seconds, audited; crmctl's
rule list, rule test, rule run, tags and log show it.  A randomised run
checks that what the change feed produced equals a full sweep."""
import json
import os
import random
import re
import signal
import unicodedata
import unittest

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

AS_ROOT = unittest.skipUnless(os.geteuid() == 0,
                              "setpriv to another user needs root")
DAY = 86400
MINGYUAN = "上海明远科技有限公司"
HUANAN = "深圳华南贸易有限公司"

RULES = '''
rules_interval = "1h";
rules = (
	{ name = "高频复购"; when = "orders_90d >= 3"; add = [ "高频复购" ]; },
	{ name = "高价值客户"; when = "revenue_365d >= 100000";
	  add = [ "高价值客户" ]; },
	{ name = "复购清理"; when = "orders_365d = 0";
	  remove = [ "流失风险" ]; }
);
'''


def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in s)


def columns(line):
    """Display columns at which the cells of a table line start."""
    starts, col = [], 0
    for i, ch in enumerate(line):
        if ch != " " and (i == 0 or line[i - 1] == " " and
                          (i < 2 or line[i - 2] == " ")):
            starts.append(col)
        col += width(ch)
    return starts


class RulesCrm(Crm):
    def order(self, customer, yuan, days_ago=1):
        return self.tx("INSERT INTO orders(customer_id, amount, ordered_at) "
                       "VALUES (?, ?, ?)",
                       (customer, int(yuan * 100), now() - days_ago * DAY))

    def tag(self, customer, name, source="manual", ignore=False):
        self.tx("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
        return self.tx("INSERT %s INTO customer_tags(customer_id, tag_id, "
                       "source) SELECT ?, id, ? FROM tags WHERE name = ?"
                       % ("OR IGNORE" if ignore else ""),
                       (customer, source, name))

    def tags(self, customer):
        """{tag: source} of one customer."""
        return dict(self.q("SELECT t.name, ct.source FROM customer_tags ct "
                           "JOIN tags t ON t.id = ct.tag_id "
                           "WHERE ct.customer_id = ?", (customer,)))

    def audit(self, customer):
        return self.q("SELECT actor, action, detail FROM audit_log "
                      "WHERE customer_id = ? AND actor LIKE 'rule:%' "
                      "ORDER BY id", (customer,))

    def dump(self):
        """Every row of every table, to compare before and after."""
        out = []
        for (t,) in self.q("SELECT name FROM sqlite_master WHERE "
                           "type = 'table' ORDER BY name"):
            out.append((t, self.q('SELECT * FROM "%s" ORDER BY 1' % t)))
        return out


class RulesTest(DaemonTest):
    extra_conf = RULES

    def setUp(self):
        super().setUp()

    def start(self):
        self.d.start()
        self.crm = RulesCrm(self.d)
        self.addCleanup(self.crm.close)
        self.owner = self.crm.user("张伟")

    def ctl_json(self, *args):
        r = self.d.ctl("--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait_tags(self, customer, want, what):
        return wait_for(lambda: self.crm.tags(customer) == want or None,
                        what=what + ": tags of %d to be %r, are %r"
                        % (customer, want, self.crm.tags(customer)))


class Tagging(RulesTest):
    def test_tags_appear_and_disappear_within_seconds(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.order(c, 500, days_ago=60)
        self.crm.order(c, 600, days_ago=20)
        self.assertEqual(self.crm.tags(c), {})
        third = self.crm.order(c, 400, days_ago=3)
        self.wait_tags(c, {"高频复购": "rule:高频复购"}, "third order")
        self.assertEqual(self.crm.audit(c),
                         [("rule:高频复购", "tag.added", "高频复购")])
        # Revenue crosses ¥100,000: the second rule tags too.
        big = self.crm.order(c, 99000, days_ago=100)
        self.wait_tags(c, {"高频复购": "rule:高频复购",
                           "高价值客户": "rule:高价值客户"}, "big order")
        # An order deleted: no longer 3 in 90 days, and under ¥100,000.
        self.crm.tx("DELETE FROM orders WHERE id = ?", (third,))
        self.wait_tags(c, {"高价值客户": "rule:高价值客户"}, "order deleted")
        self.crm.tx("UPDATE orders SET amount = 0 WHERE id = ?", (big,))
        self.wait_tags(c, {}, "order changed")
        self.assertEqual(self.crm.audit(c), [
            ("rule:高频复购", "tag.added", "高频复购"),
            ("rule:高价值客户", "tag.added", "高价值客户"),
            ("rule:高频复购", "tag.removed", "高频复购"),
            ("rule:高价值客户", "tag.removed", "高价值客户")])

    def test_manual_tags_are_never_touched(self):
        self.start()
        # A person tagged a customer who does not match: it stays.
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.tag(c, "高频复购")
        # A customer with no order in a year matches 复购清理, whose
        # remove takes 流失风险 off when a rule put it there, never a
        # person's.
        d = self.crm.customer(HUANAN, owner=self.owner)
        self.crm.tag(d, "流失风险")
        e = self.crm.customer("王芳", owner=self.owner)
        self.crm.tag(e, "流失风险", source="rule:旧规则")
        # A person's tag on a matching customer is not doubled either.
        f = self.crm.customer("李四", owner=self.owner)
        self.crm.tag(f, "高频复购")
        for days in (1, 2, 3):
            self.crm.order(f, 10, days_ago=days)
        self.wait_tags(e, {}, "the rule-applied 流失风险 removed")
        r = self.d.ctl("rule", "run", "--wait", "60s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.crm.tags(c), {"高频复购": "manual"})
        self.assertEqual(self.crm.tags(d), {"流失风险": "manual"})
        self.assertEqual(self.crm.tags(f), {"高频复购": "manual"})
        self.assertEqual(self.crm.audit(c) + self.crm.audit(d) +
                         self.crm.audit(f), [])
        self.assertEqual(self.crm.audit(e),
                         [("rule:复购清理", "tag.removed", "流失风险")])

    def test_a_person_removing_a_rule_tag_sees_it_back(self):
        """The rules are the truth for their tags: removed by hand, a tag
        comes back while the customer matches (and is audited again)."""
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.order(c, 100000, days_ago=10)
        self.wait_tags(c, {"高价值客户": "rule:高价值客户"}, "big order")
        self.crm.tx("DELETE FROM customer_tags WHERE customer_id = ?", (c,))
        self.wait_tags(c, {"高价值客户": "rule:高价值客户"}, "tag back")
        self.assertEqual(len(self.crm.audit(c)), 2)


class Commands(RulesTest):
    def test_rule_list(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.order(c, 100000, days_ago=10)
        self.wait_tags(c, {"高价值客户": "rule:高价值客户"}, "big order")
        r = self.d.ctl("rule", "run", "--wait", "60s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^sweep \d+ done\n")
        data = self.ctl_json("rule", "list")
        self.assertEqual(set(data), {"rules", "sweep"})
        rules = {x["name"]: x for x in data["rules"]}
        self.assertEqual(list(rules), ["高频复购", "高价值客户", "复购清理"])
        self.assertEqual(rules["高价值客户"], {
            "name": "高价值客户", "kind": "tagging",
            "when": "revenue_365d >= 100000", "add": ["高价值客户"],
            "remove": [], "matches": 1, "line": 8})
        self.assertEqual(rules["高频复购"]["matches"], 0)
        sweep = data["sweep"]
        self.assertFalse(sweep["running"])
        self.assertEqual(sweep["started"], sweep["completed"])
        self.assertEqual(sweep["interval_s"], 3600)
        self.assertGreaterEqual(sweep["tags_added"], 1)
        # The table lines up by display width, Chinese names included.
        text = self.d.ctl("rule", "list").stdout.splitlines()
        self.assertTrue(text[0].startswith("NAME"))
        cols = [columns(l) for l in text[:4]]
        for row in cols[1:]:
            self.assertEqual(row[:3], cols[0][:3], text)

    def test_rule_test_is_a_dry_run_that_writes_nothing(self):
        self.start()
        a = self.crm.customer(MINGYUAN, owner=self.owner)
        for days in (5, 6, 7):
            self.crm.order(a, 100, days_ago=days)
        self.wait_tags(a, {"高频复购": "rule:高频复购"}, "3 orders")
        # While crmd is down the data changes: a no longer matches, b
        # does.  Started again with the CRM holding the write lock, crmd
        # cannot apply that, and the dry run shows what it would do.
        self.assertEqual(self.d.stop(), 0)
        self.crm.tx("DELETE FROM orders WHERE customer_id = ?", (a,))
        b = self.crm.customer(HUANAN, owner=self.owner)
        for days in (1, 2, 3, 4):
            self.crm.order(b, 100, days_ago=days)
        lock = self.d.db_connect()
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        self.d.start()
        before = self.crm.dump()
        out = self.ctl_json("rule", "test", "高频复购", "--limit", "5")
        self.assertEqual(self.crm.dump(), before)
        self.assertEqual(out["name"], "高频复购")
        self.assertEqual(out["kind"], "tagging")
        self.assertEqual(out["facts"], ["orders_90d"])
        self.assertEqual(out["matched"], 1)
        self.assertTrue(out["dry_run"])
        self.assertEqual(out["sample"], [
            {"id": b, "customer": HUANAN, "facts": {"orders_90d": 4}}])
        self.assertEqual(out["changes"], [
            {"tag": "高频复购", "action": "add", "customers": 1,
             "sample": [b]},
            {"tag": "高频复购", "action": "remove", "customers": 1,
             "sample": [a]}])
        text = self.d.ctl("rule", "test", "高频复购")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("matched  1", text.stdout)
        self.assertIn("(tagging rule; dry run, nothing was written)",
                      text.stdout)
        self.assertEqual(self.crm.dump(), before)
        # Money facts read in yuan, as the rule is written.
        money = self.ctl_json("rule", "test", "高价值客户")
        self.assertEqual(money["matched"], 0)
        # The lock goes: crmd does what the dry run said.
        lock.execute("COMMIT")
        self.wait_tags(b, {"高频复购": "rule:高频复购"}, "lock released")
        self.wait_tags(a, {}, "lock released")

    def test_rule_test_shows_facts_in_yuan(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.order(c, 123456.78, days_ago=30)
        out = self.ctl_json("rule", "test", "高价值客户")
        self.assertEqual(out["sample"][0]["facts"],
                         {"revenue_365d": 123456.78})

    def test_rule_test_and_run_refuse_unknown_names(self):
        self.start()
        for args in (["rule", "test", "不存在"], ["rule", "run", "不存在"]):
            r = self.d.ctl(*args)
            self.assertEqual(r.returncode, 1)
            self.assertIn("crmctl rule list", r.stderr)
        r = self.d.ctl("rule", "test")
        self.assertEqual(r.returncode, 2)

    def test_rule_run_one_rule(self):
        self.start()
        r = self.d.ctl("--json", "rule", "run", "高价值客户")
        self.assertEqual(r.returncode, 0, r.stderr)
        reply = json.loads(r.stdout)
        self.assertEqual(reply["rule"], "高价值客户")
        self.assertTrue(reply["started"])
        wait_for(lambda: self.ctl_json("rule", "list")["sweep"]["completed"]
                 >= reply["sweep"], what="the sweep to finish")

    def test_tags_and_log(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.tag(c, "大客户")
        self.crm.order(c, 100000, days_ago=10)
        self.wait_tags(c, {"大客户": "manual",
                           "高价值客户": "rule:高价值客户"}, "big order")
        tags = self.ctl_json("tags", str(c))
        self.assertEqual(tags["customer_id"], c)
        self.assertEqual(tags["customer"], MINGYUAN)
        self.assertEqual([(t["tag"], t["source"]) for t in tags["tags"]],
                         [("大客户", "manual"), ("高价值客户", "rule:高价值客户")])
        for t in tags["tags"]:
            self.assertRegex(t["added"], r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
            self.assertIsInstance(t["added_at"], int)
        text = self.d.ctl("tags", str(c)).stdout.splitlines()
        self.assertEqual(text[0].split(), ["TAG", "SOURCE", "ADDED"])
        self.assertEqual(columns(text[1])[:2], columns(text[2])[:2])
        r = self.d.ctl("tags", "999")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no customer 999", r.stderr)

        log = self.ctl_json("log", "--customer", str(c))
        self.assertEqual(set(log[0]), {"id", "at", "time", "actor", "action",
                                       "customer_id", "detail"})
        self.assertEqual([(x["actor"], x["action"], x["customer_id"],
                           x["detail"]) for x in log if
                          x["actor"].startswith("rule:")],
                         [("rule:高价值客户", "tag.added", c, "高价值客户")])
        # Newest first, and --limit bounds it.
        other = self.crm.customer(HUANAN, owner=self.owner)
        self.crm.order(other, 200000, days_ago=10)
        self.wait_tags(other, {"高价值客户": "rule:高价值客户"}, "other")
        log = self.ctl_json("log", "--limit", "1")
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["customer_id"], other)
        ids = [x["id"] for x in self.ctl_json("log")]
        self.assertEqual(ids, sorted(ids, reverse=True))
        text = self.d.ctl("log", "--customer", str(c)).stdout.splitlines()
        self.assertEqual(text[0].split(), ["TIME", "ACTOR", "ACTION",
                                           "CUSTOMER", "DETAIL"])
        line = [l for l in text if "rule:高价值客户" in l][0]
        self.assertEqual(columns(line)[1], columns(text[0])[1])


class Reload(RulesTest):
    def test_a_bad_rule_is_refused_and_the_old_rules_stay(self):
        self.start()
        self.d.write_conf(RULES.replace(
            'when = "orders_90d >= 3"', 'when = "orders_90d >= \'3\'"'))
        r = self.d.ctl("reload")
        self.assertEqual(r.returncode, 1)
        conf = os.path.basename(self.d.conf)
        # database, socket, timezone, the blank line of RULES, then
        # rules_interval: the rule is on line 7, its value at column 15.
        self.assertRegex(r.stderr, re.escape(conf) + r":7:15: rule "
                         r"\"高频复购\": orders_90d is a number: write the "
                         r"value without quotes")
        names = [x["name"] for x in self.ctl_json("rule", "list")["rules"]]
        self.assertEqual(names, ["高频复购", "高价值客户", "复购清理"])
        # The old rules still work.
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        for days in (1, 2, 3):
            self.crm.order(c, 10, days_ago=days)
        self.wait_tags(c, {"高频复购": "rule:高频复购"}, "old rule")

    def test_a_good_reload_applies_the_new_rules(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        self.crm.order(c, 10, days_ago=1)
        self.d.write_conf('rules = ( { name = "有订单"; '
                          'when = "orders_90d >= 1"; add = [ "有订单" ]; } );')
        r = self.d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_tags(c, {"有订单": "rule:有订单"}, "the reload's sweep")


@AS_ROOT
class ReadOnly(RulesTest):
    extra_conf = RULES + 'read_group = "users";\nadmin_group = "adm";\n'

    def test_reader_may_look_but_not_run(self):
        from test_auth import nobody_in
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        reader = nobody_in("users")
        for args in (["rule", "list"], ["rule", "test", "高频复购"],
                     ["tags", str(c)], ["log"]):
            r = self.d.ctl("--json", *args, user=reader)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
        r = self.d.ctl("rule", "run", user=reader)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs admin rights", r.stderr)


class FlipFlop(RulesTest):
    """A rule whose condition denies the tag it adds can never settle:
    crmd stops changing the tag after a few changes, says why, and stays
    responsive."""
    extra_conf = '''
rules = ( { name = "摇摆"; when = "not has_tag('摇摆')"; add = [ "摇摆" ]; } );
'''

    def test_a_rule_undoing_itself_is_held_back(self):
        self.start()
        c = self.crm.customer(MINGYUAN, owner=self.owner)
        wait_for(lambda: "changed 4 times in a row" in self.d.log_text(),
                 what="the flip-flop warning")
        self.assertIn("rule 摇摆: tag 摇摆 of customer %d" % c,
                      self.d.log_text())
        wait_for(lambda: self.ctl_json("rule", "list")["sweep"]["held_back"]
                 >= 1, what="the change held back")
        n = len(self.crm.audit(c))
        self.assertLessEqual(n, 5)
        # Settled: nothing more happens to it, and crmd answers.
        r = self.d.ctl("rule", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.crm.audit(c)), n)


# The randomised check: rules that read each other's tags and remove
# them, over customers whose orders, follow-ups, contracts, fields and
# tags change at random.
RANDOM_RULES = '''
rules_interval = "1h";
rules = (
	{ name = "常客"; when = "orders_90d >= 2"; add = [ "常客" ]; },
	{ name = "大单"; when = "revenue_365d >= 5000 and region = '华东'";
	  add = [ "大单", "重点" ]; },
	{ name = "常客重点"; when = "has_tag('常客') and status in ('intent', 'won')";
	  add = [ "常客重点" ]; remove = [ "重点" ]; },
	{ name = "久未跟进"; when = "days_since_followup > 20 and not has_tag('黑名单')";
	  add = [ "久未跟进" ]; },
	{ name = "合同"; when = "contract_days_left <= 30"; add = [ "续约" ]; },
	{ name = "活跃"; when = "followups_30d >= 1 or r >= 4"; add = [ "活跃" ];
	  remove = [ "久未跟进" ]; }
);
'''


class Randomised(RulesTest):
    extra_conf = RANDOM_RULES

    def settled(self):
        """The feed is drained: crmd's cursor is at the newest row."""
        head = self.crm.q1("SELECT coalesce(max(id), 0) FROM rule_changes")
        sweep = self.ctl_json("rule", "list")["sweep"]
        return not sweep["running"] and sweep["cursor"] >= head

    def rule_tags(self):
        return set(self.crm.q(
            "SELECT ct.customer_id, t.name, ct.source FROM customer_tags ct"
            " JOIN tags t ON t.id = ct.tag_id"))

    def step(self, rnd, ids):
        c = rnd.choice(ids)
        op = rnd.randrange(9)
        # Ages stay away from the windows' edges (20, 30, 90, 365 days),
        # so the clock moving during the test decides nothing.
        days = rnd.choice((1, 5, 10, 25, 40, 100, 200, 400))
        if op == 0:
            self.crm.order(c, rnd.choice((100, 2000, 6000)), days_ago=days)
        elif op == 1:
            self.crm.tx("DELETE FROM orders WHERE id = (SELECT min(id) FROM"
                        " orders WHERE customer_id = ?)", (c,))
        elif op == 2:
            self.crm.tx("INSERT INTO followups(customer_id, user_id, at) "
                        "VALUES (?, ?, ?)", (c, self.owner,
                                             now() - days * DAY))
        elif op == 3:
            self.crm.tx("DELETE FROM followups WHERE id = (SELECT max(id) "
                        "FROM followups WHERE customer_id = ?)", (c,))
        elif op == 4:
            self.crm.tx("UPDATE customers SET status = ? WHERE id = ?",
                        (rnd.choice(("potential", "intent", "won")), c))
        elif op == 5:
            self.crm.tx("UPDATE customers SET region = ? WHERE id = ?",
                        (rnd.choice(("华东", "华南")), c))
        elif op == 6:
            # A person tags (a tag the customer has stays as it is).
            self.crm.tag(c, rnd.choice(("黑名单", "常客", "重点")),
                         ignore=True)
        elif op == 7:
            self.crm.tx("DELETE FROM customer_tags WHERE customer_id = ? "
                        "AND tag_id = (SELECT id FROM tags WHERE name = ?)",
                        (c, rnd.choice(("黑名单", "常客", "重点", "活跃"))))
        else:
            end = rnd.choice((10, 60, 200))
            self.crm.tx("INSERT INTO contracts(customer_id, start_date, "
                        "end_date) VALUES (?, date('now', '-10 days'), "
                        "date('now', ?))", (c, "+%d days" % end))

    def test_incremental_equals_full_sweep(self):
        seed = int(os.environ.get("RULES_SEED", random.randrange(1 << 30)))
        rnd = random.Random(seed)
        self.start()
        ids = [self.crm.customer("客户%d" % i, owner=self.owner,
                                 status=rnd.choice(("potential", "intent")))
               for i in range(12)]
        for rounds in range(6):
            for _ in range(50):
                self.step(rnd, ids)
            wait_for(self.settled, timeout=60, what="the feed to drain")
            incremental = self.rule_tags()
            audit = self.crm.q1("SELECT coalesce(max(id), 0) FROM audit_log")
            r = self.d.ctl("rule", "run", "--wait", "60s")
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_for(self.settled, timeout=60, what="the feed to drain")
            self.assertEqual(self.rule_tags(), incremental,
                             "seed %d, round %d: a full sweep changed what "
                             "the feed left" % (seed, rounds))
            self.assertEqual(self.crm.q("SELECT actor, action, customer_id,"
                                        " detail FROM audit_log WHERE id > ?"
                                        " AND actor LIKE 'rule:%'",
                                        (audit,)), [], "seed %d" % seed)
        # The rules did act, and only ever on rule sources.
        added = self.crm.q1("SELECT count(*) FROM audit_log WHERE action = "
                            "'tag.added' AND actor LIKE 'rule:%'")
        self.assertGreater(added, 20, "seed %d" % seed)
        # Including the removals of remove = [...], which only a rule
        # matching at the same time as another one's add makes.
        removed = self.crm.q1("SELECT count(*) FROM audit_log WHERE action "
                              "= 'tag.removed' AND actor IN ('rule:常客重点', "
                              "'rule:活跃')")
        self.assertGreater(removed, 0, "seed %d" % seed)


if __name__ == "__main__":
    unittest.main()
