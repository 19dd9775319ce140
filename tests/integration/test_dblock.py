"""The CRM application writes the same SQLite file.  crmd keeps answering
while another process holds the write lock, and never leaves a read
transaction open (which would stop the WAL from being checkpointed)."""
import json
import os
import subprocess
import sys
import time
import unittest

from crmdtest import DaemonTest, wait_for

HOLDER = r"""
import sqlite3, sys, time
db, mode, ready, done, secs = sys.argv[1:6]
c = sqlite3.connect(db, isolation_level=None, timeout=30)
c.execute("BEGIN " + mode)
c.execute("INSERT INTO customers(code, name, status, level) "
          "VALUES ('202611-0099', '深圳华南贸易', 'potential', 'B')")
open(ready, "w").close()
time.sleep(float(secs))
open(done, "w").close()
c.execute("COMMIT")
"""


class DatabaseLocked(DaemonTest):
    def hold_lock(self, mode, secs=5):
        ready = os.path.join(self.d.dir, "ready")
        done = os.path.join(self.d.dir, "done")
        p = subprocess.Popen([sys.executable, "-c", HOLDER, self.d.db, mode,
                              ready, done, str(secs)])
        self.addCleanup(p.wait)
        wait_for(lambda: os.path.exists(ready), what="lock holder")
        return p, done

    def check_answers_while_locked(self, mode):
        self.d.start()
        p, done = self.hold_lock(mode)
        for _ in range(3):
            r = self.d.ctl("--json", "status", timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists(done),
                             "status waited for the lock holder")
            # The uncommitted row is invisible; the count is consistent.
            self.assertEqual(json.loads(r.stdout)["customers"], 0)
            r = self.d.ctl("ping", timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(30), 0)
        # Counts are refreshed off the event loop, about once a second.
        wait_for(lambda: json.loads(self.d.ctl("--json", "status").stdout)[
            "customers"] == 1, what="the committed row to be counted")

    def test_status_answers_during_immediate_lock(self):
        self.check_answers_while_locked("IMMEDIATE")

    def test_status_answers_during_exclusive_lock(self):
        self.check_answers_while_locked("EXCLUSIVE")

    @unittest.skipUnless(os.geteuid() == 0, "setpriv needs root")
    def test_refusal_audit_waits_for_lock_without_blocking(self):
        """An audit row refused by SQLITE_BUSY is retried, not lost."""
        self.d.start()
        os.chmod(self.d.sock, 0o666)
        p, done = self.hold_lock("IMMEDIATE", secs=3)
        r = self.d.ctl("status", user=["setpriv", "--reuid=nobody",
                                       "--regid=nogroup", "--clear-groups"])
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(done))
        self.assertEqual(p.wait(30), 0)

        def audited():
            with self.d.db_connect() as c:
                return c.execute("SELECT count(*) FROM audit_log WHERE "
                                 "action='control.refused'").fetchone()[0]
        wait_for(audited, what="the deferred audit row")

    def test_no_read_transaction_left_open(self):
        self.d.start()
        with self.d.db_connect() as c:
            for i in range(50):
                c.execute("INSERT INTO customers(code, name, status, level)"
                          " VALUES (?, ?, 'potential', 'C')",
                          ("202611-%04d" % i, "客户%d" % i))
        for _ in range(5):
            self.assertEqual(self.d.ctl("status").returncode, 0)
        # A TRUNCATE checkpoint only completes if no reader pins the WAL.
        with self.d.db_connect() as c:
            busy, log, done = c.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self.assertEqual(busy, 0)
        self.assertEqual(os.path.getsize(self.d.db + "-wal"), 0)

    def test_concurrent_writer_sees_wal_and_foreign_keys(self):
        self.d.start()
        with self.d.db_connect() as c:
            mode = c.execute("PRAGMA journal_mode").fetchone()[0]
        self.assertEqual(mode, "wal")


if __name__ == "__main__":
    unittest.main()
