"""Turns the JSON figures bench/run collected into one Markdown report.

  report.py OUTDIR CRMD_VERSION BULLMQ_VERSION REDIS_VERSION

Targets are reported PASS/FAIL, never asserted: this is a measurement."""
import datetime
import json
import math
import os
import sys


def load(d, name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


def ms(v):
    if v is None:
        return "n/a"
    if v >= 10000:
        return "%.1f s" % (v / 1000)
    return "%.1f ms" % v if v < 100 else "%.0f ms" % v


def mib(kib):
    return "n/a" if kib is None else "%.1f MiB" % (kib / 1024)


def num(v):
    return "n/a" if v is None else "{:,.0f}".format(v)


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "**FAIL**")


def get(obj, *path):
    for p in path:
        if obj is None:
            return None
        obj = obj.get(p) if isinstance(obj, dict) else None
    return obj


def main():
    d, crmd_v, bull_v, redis_v = sys.argv[1:5]
    c = load(d, "crmd")
    ci = load(d, "crmd_idle")
    rs = load(d, "redis_start")
    rr = load(d, "redis_restart")
    bl = load(d, "bull_latency")
    bb = load(d, "bull_burst")
    bload = load(d, "bull_load")
    bi = load(d, "bull_idle")

    n = int(os.environ.get("BENCH_PENDING", 0))
    nb = int(os.environ.get("BENCH_BULL_PENDING", n))
    rows = []

    def row(what, crmd, bull, ratio="", target="", ok=None):
        rows.append((what, crmd, bull, ratio, target,
                     verdict(ok) if target else ""))

    # Startup and memory with the pending set.
    st = get(c, "startup")
    ready = max(st["ready_ms"]) if st and st["ready_ms"] else None
    ping = max(st["ping_ms"]) if st and st["ping_ms"] else None
    row("pending reminders / delayed jobs held", num(get(c, "pending",
        "pending")), num(get(bload, "delayed")) +
        ("" if nb == n else " (smaller set: see note)"))
    row("startup with them, exec to ready (worst of %d)" %
        len(st["ready_ms"]) if st else "startup",
        "%s (READY=1), %s (ping)" % (ms(ready), ms(ping)),
        "%s (Redis loads its RDB, to first PONG)" %
        ms(get(rr, "startup_ms")),
        "%.0f× sooner" % (rr["startup_ms"] / ping) if rr and ping else "",
        "≤ 1 s",
        None if ready is None else ping <= 1000)
    rss = get(c, "startup", "rss_kib")
    r_rss = get(bload, "redis", "VmRSS")
    w_rss = get(bi, "worker", "VmRSS")
    extra = ""
    if r_rss and nb and nb != n and rs:
        base = rs["rss_kib"]
        extra = "; ≈ %s extrapolated to %s" % (
            mib(base + (r_rss - base) * n / nb), num(n))
    row("RSS with them", mib(rss),
        "Redis %s + worker %s%s" % (mib(r_rss), mib(w_rss), extra),
        "%.0f× less" % ((r_rss + (w_rss or 0)) / rss)
        if rss and r_rss and nb == n else "",
        "≤ 64 MiB", None if rss is None else rss <= 64 * 1024)
    if get(c, "after", "VmHWM"):
        row("crmd peak RSS over the whole run (VmHWM)",
            mib(get(c, "after", "VmHWM")), "")

    # Fire latency.
    fl = get(c, "latency", "fire_latency_ms")
    bll = get(bl, "lateness_ms")
    lat_n = get(c, "latency", "reminders") or get(bl, "jobs")
    for key, target, limit in (("p50", "", None), ("p99", "≤ 5 ms", 5),
                               ("max", "≤ 20 ms", 20)):
        cv, bv = get(fl, key), get(bll, key)
        row("fire latency %s (%s due, %s per second)" %
            (key, num(lat_n), num(get(bl, "per_second") or
                                  get(c, "latency", "per_second"))),
            ms(cv), ms(bv),
            "%.0f× sooner" % (bv / cv) if cv and bv else "",
            target, None if limit is None or cv is None else cv <= limit)
    if get(c, "latency"):
        lc = c["latency"]
        row("  cross-check in the database (whole seconds)",
            "%s of %s notified within their due second" %
            (num(lc["db_in_due_second"]), num(lc["db_notified"])), "")

    # External inserts.
    ex = get(c, "external")
    if ex:
        k = ex["inserts"]
        per = ex["ctxt_switches"] / k
        p99 = ex["fire_latency_ms"]["p99"]
        row("external insert due 50 ms later: lateness p99 (%s inserts)"
            % num(k), "%s (crmd), %s (seen by the inserter)" %
            (ms(p99), ms(ex["observed_ms"]["p99"])), "n/a", "",
            "≤ 5 ms", p99 <= 5)
        sl = ex.get("sleeps")
        if sl:
            wake = sl["interruptible"] / k
            row("  wake-ups per external commit, the fire included "
                "(sleeps on an event, timer or lock)",
                "%.2f (besides: %.2f waits for the disk; %.2f voluntary "
                "switches in all)" % (wake, sl["disk"] / k, per),
                "n/a", "", "≤ 3", wake <= 3)
        else:
            row("  wake-ups per external commit, the fire included "
                "(voluntary switches: perf was not there to tell "
                "wake-ups from disk waits)",
                "%.2f" % per, "n/a", "", "≤ 3", per <= 3)

    # Burst.
    cf = get(c, "burst", "fires_per_s")
    bf = get(bb, "jobs_per_s")
    ratio = cf / bf if cf and bf else None
    row("burst: %s due at one second, fired per second" %
        num(get(c, "burst", "reminders") or get(bb, "jobs")),
        "%s /s (all in %s)" % (num(cf), ms(1000 * get(c, "burst",
                                                      "seconds")))
        if cf else "n/a",
        "%s /s (all in %s)" % (num(bf), ms(1000 * bb["seconds"]))
        if bf else "n/a",
        "%.1f×" % ratio if ratio else "",
        "≥ 50,000/s and ≥ 3× BullMQ",
        None if cf is None else cf >= 50000 and ratio is not None and
        ratio >= 3)
    row("  burst lateness p99 / max",
        "%s / %s" % (ms(get(c, "burst", "fire_latency_ms", "p99")),
                     ms(get(c, "burst", "fire_latency_ms", "max"))),
        "%s / %s" % (ms(get(bb, "lateness_ms", "p99")),
                     ms(get(bb, "lateness_ms", "max"))))

    # Idle.
    if ci or bi:
        row("idle CPU over %.0f s, holding the pending set" %
            (get(ci, "seconds") or get(bi, "seconds")),
            "%.3f %%" % ci["cpu_pct"] if ci else "n/a",
            "%.3f %% (Redis %.3f %% + worker %.3f %%)" %
            (bi["redis_cpu_pct"] + bi["worker_cpu_pct"],
             bi["redis_cpu_pct"], bi["worker_cpu_pct"]) if bi else "n/a",
            "", "< 0.1 %", None if ci is None else ci["cpu_pct"] < 0.1)
        row("  wake-ups per second when idle",
            "%.1f" % (ci["wakeups"] / ci["seconds"]) if ci else "n/a",
            "%.1f (Redis %.1f + worker %.1f)" %
            ((bi["redis_wakeups"] + bi["worker_wakeups"]) / bi["seconds"],
             bi["redis_wakeups"] / bi["seconds"],
             bi["worker_wakeups"] / bi["seconds"]) if bi else "n/a")
    row("context: cron or a CRM polling every 60 s", "", "",
        "mean 30 s late, max 60 s")

    now = datetime.datetime.now(datetime.timezone.utc)
    print("# Reminder benchmark: crmd vs BullMQ on Redis\n")
    print("%s UTC, %d CPUs; %s, BullMQ %s, Redis %s.\n" %
          (now.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), crmd_v,
           bull_v, redis_v))
    print("| measure | crmd | BullMQ + Redis | ratio | target (crmd) "
          "| result |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("- crmd: SQLite database and Unix socket in a temp dir, release "
          "build, in-app notifications only, working hours always open. "
          "Latency is crmd's own (`status` → "
          "`scheduler.fire_latency_ms`): commit wall-clock minus due "
          "instant, measured in microseconds; "
          "\"seen by the inserter\" is the CRM process polling the row "
          "every 0.5 ms, an upper bound.")
    print("- BullMQ: delayed jobs (`queue.add(..., {delay})`), a Worker "
          "with concurrency %s, `removeOnComplete`, Redis on a Unix "
          "socket without persistence; lateness is the instant the "
          "processor runs minus `timestamp + delay`."
          % (get(bl, "concurrency") or get(bb, "concurrency") or "?"))
    if nb != n:
        print("- BullMQ held %s delayed jobs, not %s (BENCH_BULL_PENDING); "
              "its RSS at %s is a linear extrapolation, labelled as such."
              % (num(nb), num(n), num(n)))
    print("- Idle: both measured over the same %.0f s, crmd alone "
          "and Redis plus one idle Worker; wake-ups are "
          "`voluntary_ctxt_switches` summed over all threads; per "
          "external commit they are counted over the whole insert "
          "phase, nothing subtracted, with perf's sched_switch "
          "tracepoint telling a thread's sleeps on an event, timer or "
          "lock (wake-ups) from its waits for the disk (page-cache "
          "misses, the checkpointer's fsyncs), which "
          "`voluntary_ctxt_switches` also counts; the 1 s change poll "
          "is due 1 s after crmd last looked, so a CRM committing "
          "every second never triggers it; crmd's own firing commit is "
          "included." %
          (get(ci, "seconds") or get(bi, "seconds") or 0))
    if c is None:
        print("- crmd figures are missing: its driver failed "
              "(see bench/run's output).")


# ---- The delivery benchmark (bench/delivery/) ----

def rate(v):
    return "n/a" if v is None else "{:,.0f} /s".format(v)


def times(a, b):
    """Rounded down, so 0.796 is not shown as a failing 0.80."""
    return "%.2f×" % (math.floor(100 * a / b) / 100) if a and b else "n/a"


def drain_cell(dr):
    """crmd's rate, or why there is none."""
    if not dr:
        return "n/a"
    txt = rate(dr.get("per_s"))
    sent = get(dr, "states", "sent") or 0
    if not dr.get("finished") or sent != dr["messages"]:
        txt += " (**%s of %s sent**%s)" % (
            num(sent), num(dr["messages"]),
            ": " + dr["first_error"] if dr.get("first_error") else "")
    return txt


def peer_cell(p, what):
    if not p:
        return "n/a"
    if p.get("error"):
        return "%s failed: %s" % (what, p["error"][:80])
    return rate(p.get("per_s"))


def delivery_main():
    d, crmd_v = sys.argv[2:4]
    c = load(d, "delivery_crmd") or {}
    pr = load(d, "delivery_peers") or {}
    pb = load(d, "delivery_probe") or {}
    conc = c.get("concurrency") or os.environ.get(
        "BENCH_DELIVERY_CONCURRENCY", "8")
    rows = []

    def row(what, crmd, peer, ratio="", target="", ok=None):
        rows.append((what, crmd, peer, ratio, target,
                     verdict(ok) if target else ""))

    def ratio_row(what, dr, peer, peer_name, target, limit):
        cv, pv = get(dr, "per_s"), get(peer, "per_s")
        done = dr is not None and dr.get("finished") and \
            get(dr, "states", "sent") == dr.get("messages")
        row(what, drain_cell(dr), "%s: %s" % (peer_name,
                                              peer_cell(peer, peer_name)),
            times(cv, pv), target if limit else "",
            None if not (cv and pv) else bool(done) and cv / pv >= limit)

    em = c.get("email")
    ratio_row("email: %s messages of %s bytes to Postfix's smtp-sink, %s "
              "at once" % (num(get(em, "messages")),
                           num(pb.get("email_bytes")), conc),
              em, pr.get("smtp_source"),
              "smtp-source, %s sessions kept open" % conc, "≥ 0.25×", 0.25)
    ratio_row("  the same sends from a bare libcurl multi harness: each "
              "message built with libcurl's MIME API, as crmd must",
              em, pr.get("harness_smtp_mime"),
              "libcurl harness, %s connections" % conc, "≥ 0.8×", 0.8)
    ratio_row("  the harness uploading crmd's finished bytes instead (no "
              "message built)", em, pr.get("harness_smtp"),
              "libcurl harness, %s connections" % conc, "", 0)
    sh = c.get("sms_http")
    ratio_row("SMS: %s JSON POSTs of %s bytes to nginx over HTTP/1.1 "
              "keep-alive" % (num(get(sh, "messages")),
                              num(pb.get("sms_body_bytes"))),
              sh, pr.get("wrk_http"),
              "wrk, %s connections" % conc, "≥ 0.3×", 0.3)
    ratio_row("  the same POSTs from the libcurl harness", sh,
              pr.get("harness_http"), "libcurl harness", "", 0)
    wh = c.get("webhook_http")
    ratio_row("webhook: %s JSON POSTs of %s bytes (a group-chat robot's "
              "text message) to nginx over HTTP/1.1 keep-alive" % (
                  num(get(wh, "messages")),
                  num(pb.get("webhook_body_bytes"))),
              wh, pr.get("wrk_webhook"),
              "wrk, %s connections" % conc, "≥ 0.3×", 0.3)
    ratio_row("  the same POSTs from the libcurl harness", wh,
              pr.get("harness_webhook"), "libcurl harness", "", 0)
    ss = c.get("sms_https")
    ratio_row("SMS over HTTPS, HTTP/1.1 keep-alive (nginx's self-signed "
              "certificate, verified)", ss, pr.get("wrk_https"),
              "wrk, %s connections" % conc, "≥ 0.3×", 0.3)
    ratio_row("  the same POSTs from the libcurl harness", ss,
              pr.get("harness_https"), "libcurl harness", "", 0)
    names = (("smtp", "email", "harness_smtp"),
             ("http", "sms_http", "harness_http"),
             ("webhook", "webhook_http", "harness_webhook"),
             ("https", "sms_https", "harness_https"))
    mine = ["%s %s" % (n, num(get(c, k, "connections"))) for n, k, _ in names
            if get(c, k, "connections") is not None]
    theirs = ["%s %s" % (n, num(get(pr, k, "connects")))
              for n, _, k in names if get(pr, k, "connects") is not None]
    if mine or theirs:
        row("  connections over the whole drain (crmd: distinct ones in "
            "/proc/net/tcp every 50 ms)", ", ".join(mine) or "n/a",
            "harness: " + ", ".join(theirs) if theirs else "")

    for key, what in (("email_ping", "email"), ("sms_ping", "SMS")):
        # "an email drain", "an SMS drain"
        dr = c.get(key)
        rtt = get(dr, "ping", "rtt_ms")
        cmd = get(dr, "ping", "command_ms")
        row("`crmctl ping` round trip p50 / p99 / max during an %s drain "
            "(%s pings)" % (what, num(get(rtt, "count"))),
            "%s / %s / %s" % (ms(get(rtt, "p50")), ms(get(rtt, "p99")),
                              ms(get(rtt, "max"))) if rtt else "n/a",
            "", "", "p99 < 5 ms",
            None if not rtt else rtt["p99"] < 5)
        if cmd:
            row("  the whole `crmctl ping` command, exec to exit, p50 / "
                "p99", "%s / %s" % (ms(cmd["p50"]), ms(cmd["p99"])), "")
        if dr:
            row("  the %s drain's rate meanwhile (%s messages)" %
                (what, num(dr["messages"])), drain_cell(dr), "")
    lag = ["%s %s" % (what, ms(get(c, key, "commit_to_first_ms")))
           for key, what in (("email", "email"), ("sms_http", "SMS"),
                             ("sms_https", "SMS over HTTPS"),
                             ("webhook_http", "webhook"))
           if get(c, key, "commit_to_first_ms") is not None]
    if lag:
        row("CRM's commit of the batch (one transaction) to crmd's first "
            "claim", ", ".join(lag), "")
    cpu = []
    for key, what in (("email", "email"), ("sms_http", "SMS"),
                      ("sms_https", "SMS over HTTPS"),
                      ("webhook_http", "webhook")):
        dr = c.get(key)
        if dr and dr.get("cpu_s") is not None and get(dr, "states",
                                                      "sent"):
            cpu.append("%s %.0f µs" % (what, 1e6 * dr["cpu_s"] /
                                       dr["states"]["sent"]))
    if cpu:
        row("crmd CPU per message (user + system)", ", ".join(cpu), "")
    if get(c, "after", "VmHWM"):
        row("crmd peak RSS over the drains (VmHWM)",
            mib(get(c, "after", "VmHWM")), "")

    now = datetime.datetime.now(datetime.timezone.utc)
    v = pr.get("versions") or {}
    print("# Delivery benchmark: crmd's outbox against smtp-source, wrk "
          "and bare libcurl\n")
    print("%s UTC, %d CPUs; %s, Postfix %s, nginx %s, wrk %s, libcurl %s."
          "\n" % (now.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), crmd_v,
                  v.get("postfix", "?"), v.get("nginx", "?"),
                  v.get("wrk", "?"),
                  get(pr, "harness_smtp", "curl") or "?"))
    print("| measure | crmd | peer, same sink, same run | crmd ÷ peer "
          "| target | result |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print("- crmd: release build, SQLite database and control socket in a "
          "temp dir; channels with `rate = 0` (unlimited) and "
          "`concurrency = %s`. With crmd running, the bench inserts N "
          "queued outbox rows in one transaction, as the CRM application "
          "would; the rate is N ÷ (last row `sent` − first row claimed), "
          "both seen by another process, so every message's state "
          "change is committed." % conc)
    print("- The peers send crmd's own bytes: the email, the SMS body and "
          "the webhook body crmd sent to capturing servers before the run (smtp-source's "
          "payload is sized to the same total, %s bytes; it writes "
          "its own headers). All on loopback: smtp-sink (Postfix's test "
          "server, accepts and discards), nginx answering 200 with "
          "`keepalive_requests 1000000`." %
          num(get(pr, "smtp_source", "bytes")))
    print("- The libcurl harness (bench/delivery/curl_harness.c) keeps "
          "one easy handle per connection and re-adds it as its transfer "
          "ends; no database, no event library. For the email target it "
          "builds every message as crmd is required to, with libcurl's "
          "MIME API (crmd's header lines, crmd's text as a UTF-8 part "
          "libcurl encodes in base64), so crmd ÷ harness is the cost of "
          "crmd's own work: the outbox, the event loop, rendering. The "
          "row below it uploads crmd's finished message bytes, building "
          "nothing, for context.")
    if c.get("https_cafile") and c["https_cafile"] != \
            "channels.sms.cafile":
        print("- HTTPS: crmd has no `channels.sms.cafile`, so it ran with "
              "nginx's certificate appended to the system CA bundle, "
              "bind-mounted in a mount namespace of its own; it verified "
              "the certificate as it would a real gateway's.")
    print("- Pings are the real `crmctl --json ping`, run back to back "
          "while the drain runs; the round trip is crmctl's own `rtt_ms` "
          "(request written to reply read); only pings that started "
          "during the drain count.")
    if not c:
        print("- crmd figures are missing: its driver failed (see "
              "bench/run's output).")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "delivery":
        delivery_main()
        sys.exit(0)
    main()
