"""The peers of the delivery benchmark: the limits crmd is compared with,
sending what crmd sent (bench/delivery/run drives it).

  peers.py SINKS PROBE HARNESS

SINKS is sinks.py's sinks.json, PROBE the directory crmd_delivery.py
probe wrote (crmd's own email and SMS body), HARNESS the built
curl_harness.  Prints one JSON object:

  smtp_source   Postfix's smtp-source into the smtp-sink: 8 sessions, each
                kept open for all its messages (-d), messages of crmd's
                size (the payload length is calibrated on a capture)
  harness_smtp  the bare libcurl multi harness, crmd's very message
  harness_smtp_mime
                the harness building each message as crmd must, with
                libcurl's MIME API, from crmd's header lines and text
  wrk_http, wrk_https
                wrk POSTing crmd's SMS body with its headers to nginx
  harness_http, harness_https
                the libcurl harness doing the same POSTs

Sizes: BENCH_SMTP_SOURCE (messages), BENCH_DELIVERY_EMAILS and
BENCH_DELIVERY_SMS (harness messages, as many as crmd sends),
BENCH_WRK_SECONDS, BENCH_DELIVERY_CONCURRENCY (sessions, connections)."""
import json
import os
import re
import subprocess
import sys
import time

from sinks import free_port


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(*a):
    print("  peers:", *a, file=sys.stderr, flush=True)


def smtp_source_size(probe, length):
    """The size on the wire of one smtp-source message with -l length."""
    from aiosmtpd.controller import Controller
    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append(len(envelope.original_content))
            return "250 OK"
    ctl = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        subprocess.run(["/usr/sbin/smtp-source", "-m", "1", "-l",
                        str(length), "-f", probe["from"], "-t",
                        probe["to"], "127.0.0.1:%d" % ctl.port],
                       check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        ctl.stop()
    if not got:
        sys.exit("smtp-source: no message captured")
    return got[0]


def smtp_source_length(probe):
    """-l for a message as long as crmd's: its headers measured, then one
    correction (line ends are added to the payload)."""
    target = probe["email_bytes"]
    head = smtp_source_size(probe, 1) - 3         # "X\r\n"
    length = max(1, target - head)
    size = smtp_source_size(probe, length)
    length = max(1, length + target - size)
    return length, smtp_source_size(probe, length)


def smtp_source(sinks, probe, n, sessions):
    length, size = smtp_source_length(probe)
    argv = ["/usr/sbin/smtp-source", "-d", "-s", str(sessions), "-m",
            str(n), "-l", str(length), "-f", probe["from"], "-t",
            probe["to"], "127.0.0.1:%d" % sinks["smtp"]["port"]]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        log("smtp-source failed: %s" % r.stderr.strip())
        return {"error": r.stderr.strip()}
    log("smtp-source: %d messages of %d bytes, %d sessions: %.0f /s"
        % (n, size, sessions, n / secs))
    return {"messages": n, "bytes": size, "sessions": sessions,
            "seconds": secs, "per_s": n / secs}


def mime_parts(probe_dir):
    """crmd's email split for the harness's smtpmime mode: its header
    lines (unfolded) and its decoded text, written next to it."""
    import email
    import email.policy
    with open(os.path.join(probe_dir, "email.eml"), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    heads = os.path.join(probe_dir, "email.headers")
    text = os.path.join(probe_dir, "email.text")
    with open(heads, "w", encoding="ascii") as f:
        for k in ("From", "To", "Subject", "Date", "Message-ID"):
            v = re.sub(r"\r?\n[ \t]+", " ", msg[k])
            f.write("%s: %s\n" % (k, v))
    part = next(p for p in msg.walk()
                if p.get_content_type() == "text/plain")
    with open(text, "wb") as f:
        f.write(part.get_payload(decode=True))
    return heads, text


def harness(binary, args, what):
    r = subprocess.run([binary] + args, capture_output=True, text=True)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        log("%s failed: %s" % (what, r.stderr.strip()))
        return {"error": r.stderr.strip() or "no output"}
    log("%s: %d of %d in %.2f s, %d connections: %.0f /s" % (
        what, res["ok"], res["messages"], res["seconds"], res["connects"],
        res["per_s"]))
    return res


def wrk(url, probe_dir, headers, secs, conns, body="sms.body"):
    here = os.path.dirname(os.path.abspath(__file__))
    argv = ["wrk", "-t", "2", "-c", str(conns), "-d", "%ds" % secs,
            "-s", os.path.join(here, "post.lua"), url, "--",
            os.path.join(probe_dir, body)] + headers
    r = subprocess.run(argv, capture_output=True, text=True)
    m = re.search(r"^WRK_JSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        log("wrk failed: %s" % (r.stderr.strip() or r.stdout.strip()))
        return {"error": r.stderr.strip() or r.stdout.strip()}
    res = json.loads(m.group(1))
    errors = sum(res[k] for k in ("connect_errors", "read_errors",
                                  "write_errors", "status_errors",
                                  "timeouts"))
    res.update(seconds=res["duration_us"] / 1e6, connections=conns,
               errors=errors,
               per_s=(res["requests"] - errors) / (res["duration_us"] / 1e6))
    log("wrk %s: %d requests in %.1f s, %d errors: %.0f /s"
        % (url.partition(":")[0], res["requests"], res["seconds"], errors,
           res["per_s"]))
    return res


def main(sinks_file, probe_dir, binary):
    with open(sinks_file) as f:
        sinks = json.load(f)
    with open(os.path.join(probe_dir, "probe.json")) as f:
        probe = json.load(f)
    conc = env_int("BENCH_DELIVERY_CONCURRENCY", 8)
    ne = env_int("BENCH_DELIVERY_EMAILS", 20000)
    ns = env_int("BENCH_DELIVERY_SMS", 40000)
    secs = env_int("BENCH_WRK_SECONDS", 5)
    ng = sinks["nginx"]
    http = "http://127.0.0.1:%d/sms" % ng["http"]
    https = "https://127.0.0.1:%d/sms" % ng["https"]
    hdr = []
    for h in probe["sms_headers"]:
        hdr += ["-H", h]
    res = {"smtp_source": smtp_source(
        sinks, probe, env_int("BENCH_SMTP_SOURCE", 50000), conc)}
    res["harness_smtp"] = harness(binary, [
        "-n", str(ne), "-p", str(conc), "smtp",
        "smtp://127.0.0.1:%d" % sinks["smtp"]["port"], probe["from"],
        probe["to"], os.path.join(probe_dir, "email.eml")], "harness smtp")
    heads, text = mime_parts(probe_dir)
    res["harness_smtp_mime"] = harness(binary, [
        "-n", str(ne), "-p", str(conc), "smtpmime",
        "smtp://127.0.0.1:%d" % sinks["smtp"]["port"], probe["from"],
        probe["to"], heads, text], "harness smtp, MIME built per message")
    res["wrk_http"] = wrk(http, probe_dir, probe["sms_headers"], secs,
                          conc)
    res["harness_http"] = harness(binary, [
        "-n", str(ns), "-p", str(conc)] + hdr +
        ["http", http, os.path.join(probe_dir, "sms.body")],
        "harness http")
    hook = "http://127.0.0.1:%d/hook" % ng["http"]
    res["wrk_webhook"] = wrk(hook, probe_dir, probe["webhook_headers"], secs,
                             conc, body="webhook.body")
    hook_hdr = []
    for h in probe["webhook_headers"]:
        hook_hdr += ["-H", h]
    res["harness_webhook"] = harness(binary, [
        "-n", str(ns), "-p", str(conc)] + hook_hdr +
        ["http", hook, os.path.join(probe_dir, "webhook.body")],
        "harness webhook")
    res["wrk_https"] = wrk(https, probe_dir, probe["sms_headers"], secs,
                           conc)
    res["harness_https"] = harness(binary, [
        "-n", str(ns), "-p", str(conc), "-c", ng["cafile"]] + hdr +
        ["http", https, os.path.join(probe_dir, "sms.body")],
        "harness https")
    res["versions"] = {
        "nginx": ng.get("version"),
        "postfix": subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "postfix"],
            capture_output=True, text=True).stdout.strip(),
        "wrk": subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                               "wrk"], capture_output=True,
                              text=True).stdout.strip()}
    print(json.dumps(res))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: peers.py SINKS PROBE HARNESS")
    main(*sys.argv[1:])
