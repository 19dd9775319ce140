"""Daemon lifecycle through the real binaries: answers, reloads, refuses a
second instance and newer schemas, and stops cleanly on SIGTERM."""
import json
import os
import signal
import sqlite3
import subprocess
import unittest

from crmdtest import CRMD, Daemon, DaemonTest, read_line, wait_for


class Lifecycle(DaemonTest):
    extra_conf = "control = { max_request = 4096; };"

    def test_ping_human_and_json(self):
        self.d.start()
        r = self.d.ctl("ping")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("pong from crmd pid %d" % self.d.proc.pid, r.stdout)
        r = self.d.ctl("--json", "ping")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)
        self.assertIs(data["pong"], True)
        self.assertEqual(data["pid"], self.d.proc.pid)

    def test_status_json_keys(self):
        self.d.start()
        with self.d.db_connect() as c:
            c.execute("INSERT INTO customers(code, name, status, level) "
                      "VALUES ('202405-0001', '上海明远科技有限公司', "
                      "'intent', 'A')")
        r = self.d.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        for key in ("version", "pid", "uptime_s", "database",
                    "schema_version", "config", "last_reload_at",
                    "customers", "reminders_pending", "outbox"):
            self.assertIn(key, s)
        self.assertEqual(s["pid"], self.d.proc.pid)
        self.assertEqual(s["database"], self.d.db)
        self.assertEqual(s["config"], self.d.conf)
        self.assertGreaterEqual(s["schema_version"], 1)
        self.assertEqual(s["customers"], 1)
        self.assertIsNone(s["last_reload_at"])
        self.assertEqual(sorted(s["outbox"]),
                         ["dead", "queued", "sending", "sent"])
        with self.d.db_connect() as c:
            v = c.execute("PRAGMA user_version").fetchone()[0]
        self.assertEqual(s["schema_version"], v)

    def test_status_human(self):
        self.d.start()
        r = self.d.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.d.db, r.stdout)
        self.assertIn(str(self.d.proc.pid), r.stdout)
        self.assertNotIn("{", r.stdout)

    def big_request_status(self, size):
        """Status code for a request line of about size bytes."""
        pad = "x" * size
        with self.d.connect() as s:
            s.sendall(json.dumps({"v": 1, "cmd": "ping", "args":
                                  {"pad": pad}}).encode() + b"\n")
            return json.loads(read_line(s))["status"]

    def test_reload_applies_a_valid_config(self):
        self.d.start()
        self.assertEqual(self.big_request_status(5000), 413)
        self.d.write_conf("control = { max_request = 65536; };")
        r = self.d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("reloaded", r.stdout)
        self.assertEqual(self.big_request_status(5000), 200)
        s = json.loads(self.d.ctl("--json", "status").stdout)
        self.assertIsInstance(s["last_reload_at"], int)

    def test_broken_reload_keeps_old_config(self):
        self.d.start()
        with open(self.d.conf, "a") as f:
            f.write("control = { max_request = 65536; };\nbogus_key = 1;\n")
        r = self.d.ctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:" % self.d.conf, r.stderr)
        # SIGHUP takes the same path, and the daemon stays up.
        self.d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.d.log_text().count("reload failed") >= 2,
                 what="second failed reload in the log")
        self.assertTrue(self.d.answers())
        # The old limit is still in force.
        self.assertEqual(self.big_request_status(5000), 413)

    def test_restart_only_key_is_reported_not_applied(self):
        self.d.start()
        old_sock = self.d.sock
        with open(self.d.conf, "w") as f:
            f.write('database = "%s";\nsocket = "%s";\n'
                    % (self.d.db, os.path.join(self.d.dir, "other.sock")))
        r = self.d.ctl("--json", "reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("socket", json.loads(r.stdout)["restart_needed"])
        self.assertTrue(os.path.exists(old_sock))
        self.assertTrue(self.d.answers())

    def test_sigterm_exits_zero_and_removes_socket(self):
        self.d.start()
        self.assertEqual(self.d.stop(signal.SIGTERM), 0, self.d.log_text())
        self.assertFalse(os.path.exists(self.d.sock))
        self.assertIn("stopping on SIGTERM", self.d.log_text())

    def test_sigint_exits_zero(self):
        self.d.start()
        self.assertEqual(self.d.stop(signal.SIGINT), 0, self.d.log_text())

    def test_second_instance_refused(self):
        self.d.start()
        other = Daemon(name="second")
        self.addCleanup(other.cleanup)
        # Same database, its own socket: must still be refused.
        with open(other.conf, "w") as f:
            f.write('database = "%s";\nsocket = "%s";\n'
                    % (self.d.db, other.sock))
        p = other.start(wait=False)
        self.assertEqual(p.wait(30), 1)
        self.assertIn("already in use by another crmd (pid %d)"
                      % self.d.proc.pid, other.log_text())
        self.assertFalse(os.path.exists(other.sock))
        self.assertTrue(self.d.answers())

    def test_newer_schema_refused(self):
        self.d.start()
        self.assertEqual(self.d.stop(), 0)
        with self.d.db_connect() as c:
            c.execute("PRAGMA user_version = 999")
        p = self.d.start(wait=False)
        self.assertEqual(p.wait(30), 1)
        self.assertIn("999", self.d.log_text())
        self.assertIn("upgrade crmd", self.d.log_text())
        r = subprocess.run([CRMD, "-n", "-f", self.d.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("upgrade crmd", r.stderr)

    def test_check_mode(self):
        r = subprocess.run([CRMD, "-n", "-f", self.d.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        self.assertFalse(os.path.exists(self.d.db), "-n must not create")
        with open(self.d.conf, "a") as f:
            f.write("timezone = 5;\n")
        r = subprocess.run([CRMD, "-n", "-f", self.d.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, "^%s:[0-9]+: " % self.d.conf)

    def test_missing_database_directory_is_explained(self):
        self.d.db = os.path.join(self.d.dir, "no", "such", "crmd.db")
        self.d.write_conf()
        p = self.d.start(wait=False)
        self.assertEqual(p.wait(30), 1)
        self.assertIn("does not exist; create it", self.d.log_text())


if __name__ == "__main__":
    unittest.main()
