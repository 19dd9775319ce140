"""Harness for integration tests: runs the real crmd on a private directory
and drives it through the real crmctl, raw sockets and the SQLite file.

Binaries come from the environment ctest sets: CRMD_BIN, CRMCTL_BIN."""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

CRMD = os.environ.get("CRMD_BIN", "crmd")
CRMCTL = os.environ.get("CRMCTL_BIN", "crmctl")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def wait_for(pred, timeout=15.0, step=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = pred()
        if r:
            return r
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Daemon:
    """One crmd on its own directory, database and socket."""

    def __init__(self, extra_conf="", name="crmd"):
        self.dir = tempfile.mkdtemp(prefix="crmd-it-")
        os.chmod(self.dir, 0o755)   # let setpriv'd clients reach the socket
        self.db = os.path.join(self.dir, "crmd.db")
        self.sock = os.path.join(self.dir, "crmd.sock")
        self.conf = os.path.join(self.dir, name + ".conf")
        self.log = os.path.join(self.dir, name + ".log")
        self.proc = None
        self.write_conf(extra_conf)

    def write_conf(self, extra=""):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write('database = "%s";\nsocket = "%s";\n'
                    'timezone = "Asia/Shanghai";\n%s\n'
                    % (self.db, self.sock, extra))

    def start(self, args=("-d",), env=None, wait=True):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("WATCHDOG_USEC", None)
        e.update(env or {})
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([CRMD, *args, "-f", self.conf],
                                     stdout=self.logf, stderr=self.logf,
                                     env=e)
        if wait:
            wait_for(self.answers, what="crmd to answer on " + self.sock)
        return self.proc

    def answers(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError("crmd exited with %s:\n%s"
                                 % (self.proc.returncode, self.log_text()))
        try:
            return self.request({"v": 1, "cmd": "ping"})["status"] == 200
        except OSError:
            return False

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def connect(self, timeout=10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
        except OSError:
            s.close()
            raise
        return s

    def request(self, obj):
        with self.connect() as s:
            s.sendall(json.dumps(obj).encode() + b"\n")
            return json.loads(read_line(s))

    def ctl(self, *args, user=None, timeout=30, env=None):
        cmd = [*(user or []), CRMCTL, "-s", self.sock, *args]
        e = dict(os.environ)
        e["HOME"] = self.dir            # no stray ~/.config/crmctl.ini
        e.pop("XDG_CONFIG_HOME", None)
        e.update(env or {})
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, env=e)

    def db_connect(self):
        c = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        c.execute("PRAGMA busy_timeout=10000")
        return c

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.logf.close()

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_line(s, limit=1 << 20):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        if len(buf) > limit:
            raise AssertionError("reply too long")
    return buf


class DaemonTest(unittest.TestCase):
    """Starts one daemon per test; dumps its log when a test fails."""
    extra_conf = ""

    def setUp(self):
        self.d = Daemon(self.extra_conf)
        self.addCleanup(self.d.cleanup)

    def tearDown(self):
        # Every test ends with a clean stop: exit 0 also means no leak or
        # memory error reported by ASan (or valgrind, see tests/valgrind).
        p = self.d.proc
        if p is not None and p.poll() is None:
            rc = self.d.stop()
            self.assertEqual(rc, 0, "crmd did not stop cleanly:\n"
                             + self.d.log_text()[-4000:])

    def run(self, result=None):
        failures = len(result.failures) + len(result.errors) if result else 0
        r = super().run(result)
        if result and len(result.failures) + len(result.errors) > failures:
            try:
                print("\n--- crmd log ---\n" + self.d.log_text())
            except (OSError, AttributeError):
                pass
        return r
