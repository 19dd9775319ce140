"""The crmd side of the reminder benchmark (bench/run drives it).

  crmd_bench.py main DIR     load the pending reminders, then measure
                             startup, RSS, fire latency, external inserts
                             and the burst; prints one JSON object
  crmd_bench.py idle DIR     CPU and wake-ups of an idle crmd holding the
                             pending reminders; prints one JSON object

The CRM side is played as the CRM application would: plain sqlite3 from
this process, WAL, BEGIN IMMEDIATE.  crmd runs in the foreground (-F) with
its log in DIR/crmd.log.  Sizes come from the environment (bench/run sets
them): BENCH_PENDING, BENCH_LATENCY, BENCH_LATENCY_RATE, BENCH_EXTERNAL,
BENCH_BURST, BENCH_IDLE, BENCH_STARTUPS."""
import datetime
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

CRMD = os.environ["CRMD_BIN"]
DAY = 86400
TZ = "Asia/Shanghai"
KINDS = ("followup", "callback", "renewal", "birthday", "custom")
USERS = 100
CUSTOMERS = 10000


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(*a):
    print("  crmd:", *a, file=sys.stderr, flush=True)


def pct(sorted_vals, p):
    """crmd's own definition: element floor((n - 1) * p)."""
    if not sorted_vals:
        return None
    return sorted_vals[int((len(sorted_vals) - 1) * p)]


def proc_status(pid):
    """Memory of the process; context switches summed over its threads
    (/proc/PID/status counts the main thread's alone)."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    out["voluntary_ctxt_switches"] = out["nonvoluntary_ctxt_switches"] = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k.endswith("ctxt_switches"):
                        out[k] += int(v.split()[0])
        except FileNotFoundError:
            pass                        # a thread that just ended
    return out


class Sleeps:
    """How crmd's threads went to sleep over a window, by the state they
    slept in: S, waiting for an event, a timer or a lock (a wake-up when
    it ends), or D, waiting for the disk (a page-cache miss, an fsync).
    /proc's voluntary_ctxt_switches counts both.  Needs perf (Debian's
    linux-perf); without it, counts are None."""

    def __init__(self, pid):
        self.out = None
        self.proc = None
        perf = shutil.which("perf")
        if perf is None:
            return
        self.out = "/tmp/crmd-bench-sleeps-%d.csv" % os.getpid()
        self.proc = subprocess.Popen(
            [perf, "stat", "-x,", "-o", self.out,
             "-e", "sched:sched_switch", "--filter", "prev_state == 1",
             "-e", "sched:sched_switch", "--filter", "prev_state == 2",
             "-p", str(pid)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        time.sleep(0.3)                 # perf attaches

    def stop(self):
        """{"interruptible": n, "disk": n}, or None."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        counts = []
        with open(self.out) as f:
            for line in f:
                fields = line.split(",")
                if len(fields) > 2 and fields[2] == "sched:sched_switch":
                    counts.append(int(fields[0]) if fields[0].isdigit()
                                  else None)
        os.unlink(self.out)
        if len(counts) != 2 or None in counts:
            return None
        return {"interruptible": counts[0], "disk": counts[1]}


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])     # utime + stime


class Crmd:
    """One crmd on DIR's database, started in the foreground."""

    def __init__(self, d):
        self.dir = d
        self.db = os.path.join(d, "crmd.db")
        self.sock = os.path.join(d, "crmd.sock")
        self.conf = os.path.join(d, "crmd.conf")
        self.notify = os.path.join(d, "notify.sock")
        self.proc = None

    def write_conf(self, skip=()):
        # Always open, so working hours defer nothing; in-app only, so the
        # bench is about scheduling, not delivery; the digest half a day
        # away, so it cannot run during the bench.
        digest = (datetime.datetime.now(ZoneInfo(TZ)) +
                  datetime.timedelta(hours=12)).strftime("%H:%M")
        optional = {
            "working_hours": 'working_hours = { days = ["sun", "mon", "tue",'
                             ' "wed", "thu", "fri", "sat"]; start = "00:00";'
                             ' end = "24:00"; };',
            "digest": 'digest = { time = "%s"; };' % digest,
            "reminders": "reminders = { " + " ".join(
                '%s = ["inapp"];' % k for k in KINDS) + " };",
        }
        text = ('database = "%s";\nsocket = "%s";\ntimezone = "%s";\n'
                'log = { target = "stderr"; level = "info"; };\n'
                % (self.db, self.sock, TZ))
        text += "".join(v + "\n" for k, v in optional.items()
                        if k not in skip)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    def configure(self):
        """Writes the config, leaving out the optional keys this crmd does
        not know (yet): the bench then runs on its defaults."""
        skip = set()
        while True:
            self.write_conf(skip)
            r = subprocess.run([CRMD, "-n", "-f", self.conf],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return sorted(skip)
            unknown = {k for k in ("working_hours", "digest", "reminders")
                       if "unknown key '%s'" % k in r.stderr} - skip
            if not unknown:
                sys.exit("crmd -n: " + r.stderr.strip())
            log("crmd does not know %s; left out of the config"
                % ", ".join(sorted(unknown)))
            skip |= unknown

    def start(self):
        """Starts crmd; returns ms until READY=1 and until ping answers."""
        try:
            os.unlink(self.notify)
        except FileNotFoundError:
            pass
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(self.notify)
        ns.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        logf = open(os.path.join(self.dir, "crmd.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([CRMD, "-F", "-f", self.conf],
                                     stdout=logf, stderr=logf, env=env)
        logf.close()
        try:
            while True:
                msg = ns.recv(4096)
                if b"READY=1" in msg.split(b"\n"):
                    break
        except socket.timeout:
            self.stop()
            sys.exit("crmd sent no READY=1 within 60 s; see crmd.log")
        finally:
            ns.close()
        t_ready = time.monotonic()
        deadline = t_ready + 30
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                sys.exit("crmd does not answer ping; see crmd.log")
            time.sleep(0.001)
        t_ping = time.monotonic()
        return (t_ready - t0) * 1000, (t_ping - t0) * 1000

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def request(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        try:
            s.connect(self.sock)
            s.sendall(json.dumps({"v": 1, "cmd": cmd}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return json.loads(buf)
        finally:
            s.close()

    def ping(self):
        try:
            return self.request("ping").get("status") == 200
        except (OSError, ValueError):
            return False

    def sched(self):
        r = self.request("status")
        if r.get("status") != 200:
            sys.exit("status: %s" % r)
        return r["data"]["scheduler"]

    def reset_stats(self):
        r = self.request("stats.reset")
        if r.get("status") != 200:
            sys.exit("stats.reset: %s" % r)


def connect(db):
    c = sqlite3.connect(db, timeout=30, isolation_level=None)
    c.execute("PRAGMA busy_timeout = 30000")
    c.execute("PRAGMA foreign_keys = ON")
    return c


def insert_reminders(c, rows):
    """rows: iterable of (customer_id, user_id, kind, due_at); one
    transaction.  Returns (first id, last id)."""
    c.execute("BEGIN IMMEDIATE")
    first = (c.execute("SELECT max(id) FROM reminders").fetchone()[0]
             or 0) + 1
    c.executemany("INSERT INTO reminders(customer_id, user_id, kind,"
                  " due_at) VALUES (?, ?, ?, ?)", rows)
    last = c.execute("SELECT max(id) FROM reminders").fetchone()[0]
    c.execute("COMMIT")
    return first, last


def who(i):
    cust = i % CUSTOMERS + 1
    return cust, cust % USERS + 1, KINDS[i % len(KINDS)]


def prepare(d, n):
    """Migrates an empty database with crmd, then loads users, customers
    and n pending reminders due 1 to 31 days ahead."""
    skipped = d.configure()
    d.start()
    d.stop()
    c = connect(d.db)
    t0 = time.monotonic()
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO users(name) VALUES (?)",
                  (("销售%03d" % i,) for i in range(1, USERS + 1)))
    c.executemany("INSERT INTO customers(code, name, status, level,"
                  " owner_id) VALUES (?, ?, ?, ?, ?)",
                  (("202601-%04d" % i, "上海客户%05d有限公司" % i,
                    ("potential", "intent", "won")[i % 3], "ABC"[i % 3],
                    i % USERS + 1) for i in range(1, CUSTOMERS + 1)))
    c.execute("COMMIT")
    base = int(time.time()) + DAY
    span = 30 * DAY
    # Due instants in a scrambled order, as a CRM would insert them.
    stride = 7919 if n % 7919 else 7927

    def rows():
        for i in range(n):
            cust, user, kind = who(i)
            yield cust, user, kind, base + (i * stride % n) * span // n
    c.execute("PRAGMA synchronous = OFF")
    insert_reminders(c, rows())
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    secs = time.monotonic() - t0
    pending = c.execute("SELECT count(*) FROM reminders"
                        " WHERE state = 'pending'").fetchone()[0]
    c.close()
    size = os.path.getsize(d.db)
    log("loaded %d pending reminders in %.1f s (%.0f MiB database)"
        % (pending, secs, size / 1048576))
    return {"pending": pending, "load_s": secs, "db_mib": size / 1048576,
            "conf_left_out": skipped}


def startup(d, runs):
    """The first start after the bulk load (it digests the change log of
    the customers just written), then `runs` ordinary restarts."""
    out = {"first": None, "ready_ms": [], "ping_ms": []}
    for i in range(runs + 1):
        ready, ping = d.start()
        st = proc_status(d.proc.pid)
        if i == 0:
            out["first"] = {"ready_ms": ready, "ping_ms": ping}
        else:
            out["ready_ms"].append(ready)
            out["ping_ms"].append(ping)
            out["rss_kib"] = st["VmRSS"]
            out["hwm_kib"] = st["VmHWM"]
        if i < runs:
            d.stop()
    log("startup: READY=1 after %s ms, RSS %d KiB"
        % (", ".join("%.0f" % x for x in out["ready_ms"]), out["rss_kib"]))
    return out


def sleep_until(t):
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(left - 0.002 if left > 0.003 else 0)


def latency(d, n, rate):
    """n reminders, `rate` of them due at each whole second."""
    c = connect(d.db)
    seconds = -(-n // rate)
    t0 = int(time.time()) + 3 + n // 20000
    first, last = insert_reminders(c, ((*who(i), t0 + i // rate)
                                       for i in range(n)))
    if time.time() > t0 - 0.5:
        sys.exit("latency: inserting took too long")
    sleep_until(t0 - 0.5)
    d.reset_stats()
    log("latency: %d reminders, %d due at each of %d s" %
        (n, rate, seconds))
    sleep_until(t0 + seconds + 1)
    deadline = time.time() + 30
    while True:
        s = d.sched()
        if s["fire_latency_ms"]["count"] >= n or time.time() > deadline:
            break
        time.sleep(0.5)
    # Cross-check from the database (whole seconds only): how many were
    # committed within their due second.
    chk = c.execute("SELECT count(*), sum(n.created_at = r.due_at),"
                    " max(n.created_at - r.due_at) FROM reminders r"
                    " JOIN notifications n ON n.reminder_id = r.id"
                    " WHERE r.id BETWEEN ? AND ?", (first, last)).fetchone()
    c.close()
    return {"reminders": n, "per_second": rate,
            "fire_latency_ms": s["fire_latency_ms"],
            "db_notified": chk[0], "db_in_due_second": chk[1] or 0,
            "db_max_late_s": chk[2]}


def external(d, n):
    """n times: when 50 ms remain before a whole second, insert a
    reminder due at that second, then watch for it to be fired."""
    c = connect(d.db)
    cust, user, kind = who(0)
    lateness = []
    log("external: %d inserts due 50 ms later, one per second" % n)
    d.reset_stats()
    s0 = d.sched()
    time.sleep(0.2)     # crmd closes that control connection: not ours
    sleeps = Sleeps(d.proc.pid)
    p0 = proc_status(d.proc.pid)
    t_start = time.time()
    for _ in range(n):
        due = int(time.time() + 0.1) + 1
        sleep_until(due - 0.050)
        c.execute("BEGIN IMMEDIATE")
        rid = c.execute("INSERT INTO reminders(customer_id, user_id, kind,"
                        " due_at) VALUES (?, ?, ?, ?)",
                        (cust, user, kind, due)).lastrowid
        c.execute("COMMIT")
        # Seen fired by another process: an upper bound on the commit.
        deadline = time.time() + 2
        while time.time() < deadline:
            st = c.execute("SELECT state FROM reminders WHERE id = ?",
                           (rid,)).fetchone()[0]
            if st != "pending":
                break
            time.sleep(0.0005)
        lateness.append((time.time() - due) * 1000)
    wall = time.time() - t_start
    p1 = proc_status(d.proc.pid)
    slept = sleeps.stop()
    s1 = d.sched()
    c.close()
    lateness.sort()
    vcs = p1["voluntary_ctxt_switches"] - p0["voluntary_ctxt_switches"]
    return {"inserts": n, "seconds": wall,
            "fire_latency_ms": s1["fire_latency_ms"],
            "observed_ms": {"p50": pct(lateness, 0.5),
                            "p99": pct(lateness, 0.99),
                            "max": lateness[-1], "count": n},
            "ctxt_switches": vcs,
            "sleeps": slept,
            "sched_wakeups": s1["wakeups"] - s0["wakeups"]}


def burst(d, n):
    """n reminders due at one whole second; fires/s from the due instant
    to the instant the last notification is visible to another process."""
    c = connect(d.db)
    due = int(time.time()) + 3 + n // 20000
    n0 = c.execute("SELECT coalesce(max(id), 0) FROM notifications"
                   ).fetchone()[0]
    log("burst: %d reminders due at one second" % n)
    first, last = insert_reminders(c, ((*who(i), due) for i in range(n)))
    if time.time() > due - 0.3:
        sys.exit("burst: inserting took too long")
    sleep_until(due - 0.3)
    d.reset_stats()
    fired0 = d.sched()["fired"]
    sleep_until(due)
    deadline = due + 120
    done = None
    while time.time() < deadline:
        m = c.execute("SELECT coalesce(max(id), 0) FROM notifications"
                      ).fetchone()[0]
        if m >= n0 + n:
            done = time.time()
            break
        time.sleep(0.002)
    left = c.execute("SELECT count(*) FROM reminders WHERE state ="
                     " 'pending' AND due_at = ?", (due,)).fetchone()[0]
    c.close()
    s = d.sched()
    return {"reminders": n, "seconds": (done - due) if done else None,
            "fires_per_s": n / (done - due) if done else None,
            "left_pending": left, "fired": s["fired"] - fired0,
            "fire_latency_ms": s["fire_latency_ms"]}


def main(dirname):
    d = Crmd(dirname)
    res = {"pending": prepare(d, env_int("BENCH_PENDING", 1000000))}
    try:
        res["startup"] = startup(d, env_int("BENCH_STARTUPS", 3))
        res["latency"] = latency(d, env_int("BENCH_LATENCY", 10000),
                                 env_int("BENCH_LATENCY_RATE", 100))
        res["external"] = external(d, env_int("BENCH_EXTERNAL", 200))
        res["burst"] = burst(d, env_int("BENCH_BURST", 100000))
        res["after"] = proc_status(d.proc.pid)
    finally:
        d.stop()
    print(json.dumps(res))


def idle(dirname):
    d = Crmd(dirname)
    secs = env_int("BENCH_IDLE", 60)
    d.start()
    try:
        time.sleep(2)                   # settle after start
        pid = d.proc.pid
        t0, c0, p0 = time.monotonic(), cpu_ticks(pid), proc_status(pid)
        time.sleep(secs)
        t1, c1, p1 = time.monotonic(), cpu_ticks(pid), proc_status(pid)
        c = connect(d.db)
        pending = c.execute("SELECT count(*) FROM reminders WHERE state ="
                            " 'pending'").fetchone()[0]
        c.close()
    finally:
        d.stop()
    hz = os.sysconf("SC_CLK_TCK")
    wall = t1 - t0
    return print(json.dumps({
        "seconds": wall, "pending": pending,
        "cpu_pct": 100 * (c1 - c0) / hz / wall,
        "wakeups": p1["voluntary_ctxt_switches"] -
        p0["voluntary_ctxt_switches"],
        "rss_kib": p1["VmRSS"], "hwm_kib": p1["VmHWM"]}))


if __name__ == "__main__":
    # A TERM from bench/run's clean-up unwinds through the finally
    # clauses that stop crmd.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if len(sys.argv) != 3 or sys.argv[1] not in ("main", "idle"):
        sys.exit("usage: crmd_bench.py main|idle DIR")
    {"main": main, "idle": idle}[sys.argv[1]](sys.argv[2])
