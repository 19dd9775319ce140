"""The crmd side of the delivery benchmark (bench/delivery/run drives it).

  crmd_delivery.py probe DIR          crmd sends one email and one SMS to
                                      capturing servers (aiosmtpd, Python's
                                      http.server); writes the bytes it
                                      sent to DIR/probe/ so the peers send
                                      exactly the same; prints JSON
  crmd_delivery.py drain DIR SINKS    the measured drains into the sinks
                                      of SINKS (sinks.py's sinks.json);
                                      prints one JSON object

Each drain plays the CRM application: with crmd running and idle, it
inserts N queued outbox rows in one transaction, as plain sqlite3 from this
process, and watches the table: the rate is N / (last row 'sent' − first
row claimed).  The watching is two index seeks every millisecond or two
("is any row claimed?", "is any row left?"), next to nothing for crmd.

Sizes and the concurrency come from the environment (bench/run sets
them): BENCH_DELIVERY_EMAILS, BENCH_DELIVERY_SMS, BENCH_DELIVERY_PINGS,
BENCH_DELIVERY_CONCURRENCY; CRMD_BIN and CRMCTL_BIN are the binaries."""
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import crmd_bench  # noqa: E402  (Crmd, connect, proc_status, cpu_ticks)
from crmd_bench import connect, cpu_ticks, pct  # noqa: E402

CRMCTL = os.environ.get("CRMCTL_BIN", "")
FROM = "客户管理系统 <crm@bench.example>"
SMS_BODY = ('{{\\"to\\":\\"{to}\\",\\"text\\":\\"{text}\\",'
            '\\"ref\\":\\"{key}\\"}}')


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(*a):
    print("  crmd:", *a, file=sys.stderr, flush=True)


# ---- What is sent: a reminder as crmd's templates would word it ----

def email_row(run, i):
    cust = "上海客户%05d有限公司" % (i % 10000 + 1)
    subject = "跟进提醒：%s" % cust
    body = ("王经理，您好：\n\n"
            "您负责的客户「%s」今天需要跟进。\n"
            "上次联系：2026-11-20 电话沟通，客户对年度服务方案有兴趣，"
            "希望本周内收到正式报价。\n"
            "联系人：李女士，138-0013-8000，li@customer.example\n\n"
            "请在客户管理系统中记录本次跟进结果。\n"
            "—— 客户管理系统（自动发送，请勿回复）\n" % cust)
    return ("email", "sales%03d@bench.example" % (i % 100 + 1), subject,
            body, "bench:email:%s:%d" % (run, i))


def sms_row(run, i):
    cust = "上海客户%05d有限公司" % (i % 10000 + 1)
    body = "【客户管理】王经理：客户%s今天需要跟进，请及时联系。" % cust
    return ("sms", "+86138%08d" % (i % 100000000), "", body,
            "bench:sms:%s:%d" % (run, i))


def webhook_row(run, i):
    """A group-chat robot's text message (WeCom / DingTalk shape): the row
    body is the JSON crmd posts as it is."""
    cust = "上海客户%05d有限公司" % (i % 10000 + 1)
    body = json.dumps({"msgtype": "text", "text": {
        "content": "【客户跟进】王经理：客户%s今天需要跟进，请及时联系。" % cust}},
        ensure_ascii=False)
    return ("webhook", "webhook", "", body,
            "bench:webhook:%s:%d" % (run, i))


# ---- crmd ----

class Daemon(crmd_bench.Crmd):
    """crmd with channels pointing where the bench says."""

    def write_delivery_conf(self, email_url=None, sms_url=None,
                            sms_cafile=None, webhook_url=None):
        conc = env_int("BENCH_DELIVERY_CONCURRENCY", 8)
        pace = "rate = 0; concurrency = %d;" % conc
        ch = []
        if email_url:
            ch.append('email = { url = "%s"; from = "%s"; %s };'
                      % (email_url, FROM, pace))
        if sms_url:
            ch.append('sms = { url = "%s"; format = "json"; body = "%s";'
                      ' %s%s };' % (sms_url, SMS_BODY, pace,
                                    ' cafile = "%s";' % sms_cafile
                                    if sms_cafile else ""))
        if webhook_url:
            ch.append('webhook = { url = "%s"; %s };' % (webhook_url, pace))
        text = ('database = "%s";\nsocket = "%s";\ntimezone = "%s";\n'
                'log = { target = "stderr"; level = "info"; };\n'
                'channels = {\n\t%s\n};\n'
                % (self.db, self.sock, crmd_bench.TZ, "\n\t".join(ch)))
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([crmd_bench.CRMD, "-n", "-f", self.conf],
                           capture_output=True, text=True)
        return r.returncode == 0, r.stderr.strip()

    def use(self, **kw):
        """(Re)starts crmd on a config; exits with crmd's reason when it
        refuses the config."""
        ok, err = self.write_delivery_conf(**kw)
        if not ok:
            sys.exit("crmd -n refuses the bench config: " + err)
        self.stop()
        self.start()


def insert(c, rows):
    """One transaction, as the CRM would queue a batch; returns (first id,
    last id, commit instant)."""
    c.execute("BEGIN IMMEDIATE")
    c.executemany("INSERT INTO outbox(channel, recipient, subject, body,"
                  " idempotency_key) VALUES (?, ?, ?, ?, ?)", rows)
    last = c.execute("SELECT max(id) FROM outbox").fetchone()[0]
    c.execute("COMMIT")
    return last - len(rows) + 1, last, time.monotonic()


def wait_for(d, c, sql, args, deadline, step):
    while time.monotonic() < deadline:
        if c.execute(sql, args).fetchone() is not None:
            return time.monotonic()
        if d.proc.poll() is not None:
            sys.exit("crmd exited during a drain (status %d); see %s"
                     % (d.proc.returncode, os.path.join(d.dir, "crmd.log")))
        time.sleep(step)
    return None


class Pinger(threading.Thread):
    """`crmctl --json ping` in a loop, back to back, each one a process as
    an admin would run it; keeps crmctl's own round trip (request written
    to reply read) and the wall time of the whole command."""

    def __init__(self, sock, limit):
        super().__init__(daemon=True)
        self.sock, self.limit = sock, limit
        self.samples = []       # (start, rtt_ms, wall_ms)
        self.failed = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set() and len(self.samples) < self.limit:
            t0 = time.monotonic()
            r = subprocess.run([CRMCTL, "-s", self.sock, "--json", "ping"],
                               capture_output=True, text=True)
            wall = (time.monotonic() - t0) * 1000
            try:
                self.samples.append((t0, json.loads(r.stdout)["rtt_ms"],
                                     wall))
            except (ValueError, KeyError):
                self.failed += 1


class Conns(threading.Thread):
    """Samples the connections to the sink every 50 ms from
    /proc/net/tcp (no process spawned): the set of client ports seen over
    a drain.  Reuse keeps it at the concurrency; a connection per message
    would show thousands."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = "%04X" % port
        self.seen = set()
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            with open("/proc/net/tcp") as f:
                for line in f:
                    fl = line.split()
                    # local, remote, state; 01 is ESTABLISHED
                    if len(fl) > 3 and fl[3] == "01" and \
                            fl[2].endswith(":" + self.port):
                        self.seen.add(fl[1])
            self.halt.wait(0.05)


def summary(vals):
    vals = sorted(vals)
    if not vals:
        return None
    return {"p50": pct(vals, 0.5), "p99": pct(vals, 0.99),
            "max": vals[-1], "count": len(vals)}


def drain(d, c, run, n, make, pings=0, port=None):
    """Queues n rows made by make(run, i) and measures their delivery;
    with pings, a Pinger runs alongside; with the sink's port, the
    connections crmd holds to it are counted."""
    pid = d.proc.pid
    pinger = Pinger(d.sock, pings) if pings else None
    conns = Conns(port) if port else None
    if conns:
        conns.start()
    rows = [make(run, i) for i in range(n)]
    cpu0 = cpu_ticks(pid)
    first, last, t_commit = insert(c, rows)
    deadline = t_commit + 20 + n / 250
    # Index seeks on outbox(state, ...), never scans: the earlier drains
    # left no row queued or sending, so any such row is this batch's.
    t_first = wait_for(d, c, "SELECT 1 WHERE EXISTS (SELECT 1 FROM outbox"
                       " WHERE state = 'sending') OR (SELECT state <>"
                       " 'queued' FROM outbox WHERE id = ?)", (first,),
                       deadline, 0.001)
    if pinger:
        pinger.start()          # from the first claim, however late
    t_last = wait_for(d, c, "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM outbox"
                      " WHERE state IN ('queued', 'sending'))", (),
                      deadline, 0.002)
    cpu1 = cpu_ticks(pid)
    if pinger and pinger.is_alive():
        pinger.halt.set()
        pinger.join()
    if conns:
        conns.halt.set()
        conns.join()
    states = dict(c.execute("SELECT state, count(*) FROM outbox WHERE id"
                            " BETWEEN ? AND ? GROUP BY state",
                            (first, last)).fetchall())
    err = c.execute("SELECT last_error FROM outbox WHERE id BETWEEN ? AND"
                    " ? AND last_error IS NOT NULL LIMIT 1",
                    (first, last)).fetchone()
    end = t_last or time.monotonic()
    secs = end - t_first if t_first else None
    sent = states.get("sent", 0)
    res = {"messages": n, "states": states,
           "first_error": err[0] if err else None,
           "finished": t_last is not None,
           "commit_to_first_ms": (t_first - t_commit) * 1000
           if t_first else None,
           "seconds": secs, "per_s": sent / secs if secs else None,
           "cpu_s": (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK")}
    if conns:
        res["connections"] = len(conns.seen)
    if pinger:
        inside = [s for s in pinger.samples
                  if t_first and t_first <= s[0] <= end]
        res["ping"] = {"rtt_ms": summary([s[1] for s in inside]),
                       "command_ms": summary([s[2] for s in inside]),
                       "all_pings": len(pinger.samples),
                       "failed": pinger.failed}
    log("%s: %d of %d sent in %s s (%s /s)%s%s" % (
        run, sent, n, "%.2f" % secs if secs else "?",
        "%.0f" % res["per_s"] if res["per_s"] else "?",
        "" if not conns else ", %d connections" % len(conns.seen),
        "" if not pinger else "; ping p99 %s ms over %d pings" % (
            "%.2f" % res["ping"]["rtt_ms"]["p99"]
            if res["ping"]["rtt_ms"] else "?",
            len(inside))))
    return res


# ---- The probe: what crmd puts on the wire ----

class Captured:
    email = None
    http = None
    hook = None


class SmtpCapture:
    async def handle_DATA(self, server, session, envelope):
        Captured.email = envelope.original_content
        return "250 OK"


class HttpCapture(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        got = {"body": self.rfile.read(n),
               "headers": dict(self.headers.items())}
        if self.path.startswith("/hook"):
            Captured.hook = got
        else:
            Captured.http = got
        out = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


def fresh(dirname):
    """An empty database crmd has migrated."""
    d = Daemon(dirname)
    for f in ("crmd.db", "crmd.db-wal", "crmd.db-shm"):
        try:
            os.unlink(os.path.join(dirname, f))
        except FileNotFoundError:
            pass
    return d


def probe(dirname):
    from aiosmtpd.controller import Controller
    from sinks import free_port
    os.makedirs(dirname, exist_ok=True)
    out = os.path.join(dirname, "probe")
    os.makedirs(out, exist_ok=True)
    smtp = Controller(SmtpCapture(), hostname="127.0.0.1",
                      port=free_port())
    smtp.start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HttpCapture)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    d = fresh(dirname)
    try:
        d.use(email_url="smtp://127.0.0.1:%d" % smtp.port,
              sms_url="http://127.0.0.1:%d/sms" % web.server_address[1],
              webhook_url="http://127.0.0.1:%d/hook" % web.server_address[1])
        c = connect(d.db)
        insert(c, [email_row("probe", 1), sms_row("probe", 1),
                   webhook_row("probe", 1)])
        deadline = time.monotonic() + 30
        while (Captured.email is None or Captured.http is None or
               Captured.hook is None) and time.monotonic() < deadline:
            time.sleep(0.01)
        c.close()
    finally:
        d.stop()
        smtp.stop()
        web.shutdown()
    if Captured.email is None or Captured.http is None or \
            Captured.hook is None:
        sys.exit("probe: crmd sent no %s within 30 s; see %s/crmd.log"
                 % ("email" if Captured.email is None else "SMS"
                    if Captured.http is None else "webhook", dirname))
    with open(os.path.join(out, "email.eml"), "wb") as f:
        f.write(Captured.email)
    with open(os.path.join(out, "sms.body"), "wb") as f:
        f.write(Captured.http["body"])
    with open(os.path.join(out, "webhook.body"), "wb") as f:
        f.write(Captured.hook["body"])

    def headers(got):
        return ["%s: %s" % kv for kv in sorted(
            (k, v) for k, v in got["headers"].items()
            if k.lower() in ("content-type", "idempotency-key"))]
    res = {"email_bytes": len(Captured.email),
           "sms_body_bytes": len(Captured.http["body"]),
           "sms_headers": headers(Captured.http),
           "webhook_body_bytes": len(Captured.hook["body"]),
           "webhook_headers": headers(Captured.hook),
           "from": "crm@bench.example", "to": email_row("p", 1)[1]}
    with open(os.path.join(out, "probe.json"), "w") as f:
        json.dump(res, f)
    print(json.dumps(res))


# ---- The drains ----

def drains(dirname, sinks_file):
    with open(sinks_file) as f:
        sinks = json.load(f)
    ne = env_int("BENCH_DELIVERY_EMAILS", 20000)
    ns = env_int("BENCH_DELIVERY_SMS", 40000)
    npings = env_int("BENCH_DELIVERY_PINGS", 500)
    if npings and not os.access(CRMCTL, os.X_OK):
        sys.exit("CRMCTL_BIN (%r) is not an executable crmctl" % CRMCTL)
    email_url = "smtp://127.0.0.1:%d" % sinks["smtp"]["port"]
    http_url = "http://127.0.0.1:%d/sms" % sinks["nginx"]["http"]
    https_url = "https://127.0.0.1:%d/sms" % sinks["nginx"]["https"]
    res = {"concurrency": env_int("BENCH_DELIVERY_CONCURRENCY", 8)}
    d = fresh(dirname)
    try:
        d.use(email_url=email_url, sms_url=http_url)
        c = connect(d.db)
        # A short warm-up: connections open, pages cached.
        drain(d, c, "warm-email", 200, email_row)
        drain(d, c, "warm-sms", 200, sms_row)
        res["email"] = drain(d, c, "email", ne, email_row,
                             port=sinks["smtp"]["port"])
        res["sms_http"] = drain(d, c, "sms-http", ns, sms_row,
                                port=sinks["nginx"]["http"])
        # Twice as many rows, so the drain outlasts the pings.
        res["email_ping"] = drain(d, c, "email+ping", 2 * ne, email_row,
                                  pings=npings)
        res["sms_ping"] = drain(d, c, "sms+ping", 2 * ns, sms_row,
                                pings=npings)
        res["after"] = crmd_bench.proc_status(d.proc.pid)
        c.close()
        # HTTPS: crmd must trust nginx's self-signed certificate.
        ok, err = d.write_delivery_conf(sms_url=https_url,
                                        sms_cafile=sinks["nginx"]["cafile"])
        res["https_cafile"] = "channels.sms.cafile" if ok else \
            "CA bundle in a mount namespace"
        if not ok:
            res["https_cafile_refused"] = err
            log("crmd refuses channels.sms.cafile (%s); HTTPS is run with"
                " the certificate added to the CA bundle in a private"
                " mount namespace" % err.splitlines()[0])
        d.stop()
        if ok:
            d.start()
        elif not start_with_bundle(d, https_url, sinks["nginx"]["cafile"]):
            res["https_cafile"] = res["sms_https"] = None
            log("HTTPS skipped: no private mount namespace here")
            return res
        c = connect(d.db)
        drain(d, c, "warm-sms-https", 200, sms_row)
        res["sms_https"] = drain(d, c, "sms-https", ns, sms_row,
                                 port=sinks["nginx"]["https"])
        c.close()
        # Webhooks, on a crmd of their own: the SMS drains' idle
        # connections to the same nginx would count as the webhook's.
        d.use(webhook_url="http://127.0.0.1:%d/hook" %
              sinks["nginx"]["http"])
        c = connect(d.db)
        drain(d, c, "warm-webhook", 200, webhook_row)
        res["webhook_http"] = drain(d, c, "webhook-http", ns, webhook_row,
                                    port=sinks["nginx"]["http"])
        c.close()
    finally:
        d.stop()
        print(json.dumps(res))
    return res


def start_with_bundle(d, url, cafile):
    """Starts crmd with the system CA bundle, in a mount namespace of its
    own, replaced by one that also holds cafile: libcurl then trusts the
    sink as it would a real gateway, and nothing outside changes."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    mine = os.path.join(d.dir, "ca-bundle.pem")
    with open(mine, "wb") as out:
        for src in (bundle, cafile):
            with open(src, "rb") as f:
                shutil.copyfileobj(f, out)
    ok, _ = d.write_delivery_conf(sms_url=url)
    if not ok or not shutil.which("unshare") or subprocess.run(
            ["unshare", "-m", "sh", "-c",
             "mount --bind \"$0\" %s" % bundle, mine],
            capture_output=True).returncode != 0:
        return False
    real = crmd_bench.CRMD
    wrapper = os.path.join(d.dir, "crmd-ns")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec unshare -m sh -c \'mount --bind "$0" %s'
                ' && exec "$@"\' %s %s "$@"\n' % (bundle, mine, real))
    os.chmod(wrapper, 0o755)
    crmd_bench.CRMD = wrapper
    try:
        d.start()
    finally:
        crmd_bench.CRMD = real
    return True


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if len(sys.argv) == 3 and sys.argv[1] == "probe":
        probe(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "drain":
        drains(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: crmd_delivery.py probe DIR | drain DIR SINKS")
