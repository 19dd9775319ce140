"""Delivery end to end, the smoke test: the real crmd takes rows the CRM
queued in the outbox and delivers them to real servers on loopback, an
email to Debian's aiosmtpd and an SMS and a webhook to Python's
http.server, each reaching state 'sent' with the right bytes on the wire.
Also the rules applied at the moment of sending: a customer's opt-out,
quiet hours for customer SMS, and a channel that is not configured."""
import asyncio
import email
import email.policy
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

from crmdtest import DaemonTest, wait_for
from crmfixture import Crm, now

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "mail"))
from smtpcapture import CaptureServer, free_port  # noqa: E402


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records each request (method, path, headers, body); answers 200
    with the JSON a gateway would."""
    protocol_version = "HTTP/1.1"       # keep-alive, as curl expects
    requests = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.requests.append((self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()},
                              body))
        reply = b'{"code":"OK"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_PUT = do_POST

    def log_message(self, *args):
        pass


class HttpServer:
    def __init__(self):
        handler = type("H", (Recorder,), {"requests": []})
        self.requests = handler.requests
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


# As written in crmd.conf: a libconfig string, JSON braces doubled.
SMS_BODY = r'{{\"phone\":\"{to}\",\"content\":\"{text}\",\"ref\":\"{key}\"}}'


HOLD_MAX_S = 60


class Relay:
    """aiosmtpd's handler: refuses one mailbox permanently, like a relay
    that knows its users, and holds its reply to the first message for
    slow@ until the test releases it; accepts the rest."""
    def __init__(self):
        self.scanning = threading.Event()   # holding that reply now
        self.release = threading.Event()    # the test lets it answer
        self.answered = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, opts):
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # A relay that scans mail before it answers the final dot, as
        # RFC 5321 gives it minutes to: crmd must not wait with it.
        if any(r.startswith("slow@") for r in envelope.rcpt_tos) and \
                not self.scanning.is_set():
            self.scanning.set()
            deadline = time.monotonic() + HOLD_MAX_S
            while not self.release.is_set() and \
                    time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            self.answered.set()
        return "250 OK"


def channels_conf(smtp_port, http_port, webhook=True, email_extra=""):
    hook = ("""	webhook = {
		url = "http://127.0.0.1:%d/hook?token=s3cret";
		json_field = "code";
		json_ok = [ "OK" ];
	};
""" % http_port) if webhook else ""
    return """
channels = {
	email = {
		url = "smtp://127.0.0.1:%d";
		from = "客户管理系统 <crm@example.com>";
		starttls = "none";%s
	};
	sms = {
		url = "http://127.0.0.1:%d/sms";
		format = "json";
		body = "%s";
		json_field = "code";
		json_ok = [ "OK" ];
		national = { regex = "1[3-9][0-9]{9}"; country = "86"; };
	};
%s};
outbox = { backoff_min = "1s"; backoff_max = "2s"; lifetime = "1h"; };
""" % (smtp_port, email_extra, http_port, SMS_BODY, hook)


class DeliveryBasic(DaemonTest):
    webhook = True
    email_extra = ""

    def setUp(self):
        self.smtp_dir = tempfile.mkdtemp(prefix="crmd-smtp-")
        self.addCleanup(shutil.rmtree, self.smtp_dir, True)
        self.smtp = CaptureServer(self.smtp_dir, free_port())
        self.smtp.handler = Relay()
        self.smtp.start()
        self.addCleanup(self.smtp.stop)
        self.addCleanup(self.smtp.handler.release.set)
        self.http = HttpServer()
        self.addCleanup(self.http.close)
        self.extra_conf = channels_conf(self.smtp.port, self.http.port,
                                        self.webhook, self.email_extra)
        super().setUp()
        self.d.start()
        self.crm = Crm(self.d)
        self.addCleanup(self.crm.close)

    def row(self, oid):
        return self.crm.outbox_row(oid)

    def wait_state(self, oid, state):
        return wait_for(lambda: self.row(oid)["state"] == state and
                        self.row(oid), timeout=20,
                        what="outbox %d to be %s, is %s"
                        % (oid, state, self.row(oid)["state"]))

    def status(self):
        r = self.d.request({"v": 1, "cmd": "status"})
        self.assertEqual(r["status"], 200, r)
        return r["data"]


class ThreeChannels(DeliveryBasic):
    def test_email_reaches_smtp_server_as_sent(self):
        oid = self.crm.outbox("email", "li.na@example.com",
                              subject="续约提醒：上海明远科技",
                              body="您好，\n合同将于下月到期。\n.\n再见",
                              key="reminder:7:email")
        row = self.wait_state(oid, "sent")
        self.assertEqual(row["attempts"], 1)
        self.assertIsNone(row["lease_until"])
        self.assertIsNotNone(row["sent_at"])
        sessions = [s for s in self.smtp.sessions() if b"DATA" in s]
        self.assertEqual(len(sessions), 1)
        wire = sessions[0]
        self.assertIn(b"MAIL FROM:<crm@example.com>", wire)
        self.assertIn(b"RCPT TO:<li.na@example.com>\r\n", wire)
        self.assertNotIn(b"AUTH", wire)
        data = wire.split(b"DATA\r\n", 1)[1].split(b"\r\n.\r\n", 1)[0]
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertEqual(msg["Message-ID"], "<reminder:7:email@crmd>"
                         .replace(":", "%3A"))
        self.assertEqual(str(msg["Subject"]), "续约提醒：上海明远科技")
        self.assertEqual(msg["From"].addresses[0].display_name,
                         "客户管理系统")
        self.assertEqual(msg["To"].addresses[0].addr_spec,
                         "li.na@example.com")
        text = msg.get_body(("plain",)).get_content()
        self.assertEqual(text.replace("\r\n", "\n"),
                         "您好，\n合同将于下月到期。\n.\n再见")
        self.assertEqual(self.status()["delivery"]["sent"], 1)

    def test_slow_smtp_reply_does_not_stall_the_daemon(self):
        # libcurl (7.88, curl #8555) waits for the reply to the final dot
        # inside the transfer's "done": on crmd's event loop that would
        # stop control requests, firing and every other transfer.
        slow = self.crm.outbox("email", "slow@example.com", subject="s",
                               body="b", key="slow:1")
        self.assertTrue(self.smtp.handler.scanning.wait(20))
        self.status()
        quick = self.crm.outbox("sms", "+8613800138000", body="快",
                                key="quick:1")
        self.wait_state(quick, "sent")
        # The relay still holds its reply: the SMS did not wait for it.
        self.assertFalse(self.smtp.handler.answered.is_set())
        self.assertEqual(self.row(slow)["state"], "sending")
        self.smtp.handler.release.set()
        self.wait_state(slow, "sent")

    def test_stop_does_not_wait_for_a_slow_relay(self):
        slow = self.crm.outbox("email", "slow@example.com", subject="s",
                               body="b", key="slow:2")
        self.assertTrue(self.smtp.handler.scanning.wait(20))
        # The relay holds its reply for a minute: a crmd that waited for
        # it would not stop within stop()'s 30 s.
        self.assertEqual(self.d.stop(), 0)
        self.assertFalse(self.smtp.handler.answered.is_set())
        # Not lost: back in the queue for the next start.
        row = self.row(slow)
        self.assertEqual(row["state"], "queued", row)

    def test_sms_reaches_gateway_as_sent(self):
        oid = self.crm.outbox("sms", "138 0013 8000", body="王总您好，明天10点回访",
                              key="reminder:8:sms")
        self.wait_state(oid, "sent")
        self.assertEqual(len(self.http.requests), 1)
        method, path, headers, body = self.http.requests[0]
        self.assertEqual((method, path), ("POST", "/sms"))
        self.assertEqual(headers["idempotency-key"], "reminder:8:sms")
        self.assertTrue(headers["content-type"].startswith(
            "application/json"))
        self.assertEqual(json.loads(body), {
            "phone": "+8613800138000", "content": "王总您好，明天10点回访",
            "ref": "reminder:8:sms"})

    def test_reload_applies_to_the_next_sms(self):
        # Easy handles are reused without a reset: one left from the old
        # config must not carry its method into the new one's requests.
        def send(phone):
            oid = self.crm.outbox("sms", phone, body="x")
            self.wait_state(oid, "sent")
            return self.http.requests[-1][0]

        self.assertEqual(send("+8613800138000"), "POST")
        put = self.extra_conf.replace('format = "json";',
                                      'format = "json"; method = "PUT";')
        self.assertNotEqual(put, self.extra_conf)
        for conf, phone, want in ((put, "+8613800138001", "PUT"),
                                  (self.extra_conf, "+8613800138002",
                                   "POST")):
            self.d.write_conf(conf)
            r = self.d.ctl("reload")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(send(phone), want)

    def test_webhook_posts_row_body_to_configured_url(self):
        payload = {"msgtype": "text",
                   "text": {"content": "回访提醒：\"明远\" <今天>"}}
        oid = self.crm.outbox("webhook", "webhook",
                              body=json.dumps(payload, ensure_ascii=False))
        self.wait_state(oid, "sent")
        method, path, headers, body = self.http.requests[0]
        self.assertEqual((method, path), ("POST", "/hook?token=s3cret"))
        self.assertEqual(json.loads(body), payload)
        # No key in the row: the sender makes one from the id.
        self.assertEqual(headers["idempotency-key"], "outbox:%d" % oid)

    def test_gateway_refusal_is_dead_with_its_reason(self):
        oid = self.crm.outbox("sms", "12345", body="x")
        row = self.wait_state(oid, "dead")
        self.assertIn("invalid phone number", row["last_error"])
        self.assertEqual(self.http.requests, [])

    def test_smtp_permanent_failure_keeps_server_text(self):
        oid = self.crm.outbox("email", "nobody@example.com", body="x")
        row = self.wait_state(oid, "dead")
        self.assertEqual(row["last_error"], "SMTP 550 5.1.1 "
                         "<nobody@example.com>: no such user here")
        self.assertEqual(row["attempts"], 1)
        self.assertTrue(any(b"RCPT TO:<nobody@example.com>" in s
                            for s in self.smtp.sessions()))


class RelaySlowerThanTimeout(DeliveryBasic):
    # One connection, so the next message would be sent on the same one.
    email_extra = ' timeout = "2s"; connect_timeout = "1s"; concurrency = 1;'

    def test_late_reply_is_not_taken_for_the_next_message(self):
        # The relay answers the final dot after crmd gave up: libcurl
        # keeps that connection, and the late "250" would be read as the
        # reply to the next message's MAIL FROM, and so on down.
        slow = self.crm.outbox("email", "slow@example.com", subject="s",
                               body="b", key="slow:3")
        wait_for(lambda: self.row(slow)["attempts"] == 1 and
                 self.row(slow)["state"] == "queued", timeout=20,
                 what="the slow message to time out")
        self.assertIn("timeout", self.row(slow)["last_error"])
        # The late "250" (on a connection crmd kept, it would be read as
        # the next MAIL FROM's reply, whenever it arrives).
        self.smtp.handler.release.set()
        nxt = self.crm.outbox("email", "li.na@example.com", subject="n",
                              body="next", key="next:3")
        row = self.wait_state(nxt, "sent")
        self.assertEqual(row["attempts"], 1, row)
        self.wait_state(slow, "sent")


class OneEmailConnection(DeliveryBasic):
    email_extra = ' concurrency = 1;'

    def test_email_concurrency_is_the_number_of_connections(self):
        # Email runs on two transport threads; concurrency = 1 must still
        # mean one connection, not one per thread.
        ids = [self.crm.outbox("email", "li.na@example.com", subject="%d" % i,
                               body="b", key="one:%d" % i) for i in range(6)]
        for oid in ids:
            self.wait_state(oid, "sent")
        sessions = [s for s in self.smtp.sessions() if b"MAIL FROM" in s]
        self.assertEqual(len(sessions), 1)
        self.assertEqual(sessions[0].count(b"MAIL FROM"), 6)


class CustomersAndChannels(DeliveryBasic):
    webhook = False

    def test_opt_out_is_honoured_at_send_time(self):
        cid = self.crm.customer()
        self.crm.tx("UPDATE customers SET opt_out_sms = 1 WHERE id = ?",
                    (cid,))
        sms = self.crm.outbox("sms", "+8613800138000", body="促销",
                              audience="customer", customer=cid)
        mail = self.crm.outbox("email", "kehu@example.com", body="邀请函",
                               audience="customer", customer=cid)
        row = self.wait_state(sms, "dead")
        self.assertEqual(row["last_error"], "customer opted out of sms")
        self.assertEqual(row["attempts"], 0)
        self.wait_state(mail, "sent")     # opted out of SMS only
        self.assertEqual(self.http.requests, [])

    def test_customer_sms_waits_for_the_end_of_quiet_hours(self):
        # Quiet hours around the present, in the daemon's zone.
        t = time.gmtime(now() + 8 * 3600)      # Asia/Shanghai, no DST
        minute = t.tm_hour * 60 + t.tm_min
        start, end = (minute - 60) % 1440, (minute + 120) % 1440
        self.d.write_conf(self.extra_conf + """
quiet_hours = { start = "%02d:%02d"; end = "%02d:%02d"; };
""" % (start // 60, start % 60, end // 60, end % 60))
        r = self.d.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        cid = self.crm.customer()
        to_customer = self.crm.outbox("sms", "+8613800138000", body="a",
                                      audience="customer", customer=cid)
        to_user = self.crm.outbox("sms", "+8613800138001", body="b")
        self.wait_state(to_user, "sent")
        row = wait_for(lambda: self.row(to_customer)["next_attempt_at"] >
                       now() and self.row(to_customer),
                       what="the customer's SMS to be deferred")
        self.assertEqual(row["state"], "queued")
        self.assertEqual(row["attempts"], 0)
        # Deferred to the end of the quiet hours, to the minute.
        wait = row["next_attempt_at"] - now()
        self.assertGreater(wait, 115 * 60)
        self.assertLessEqual(wait, 121 * 60)
        self.assertEqual(row["next_attempt_at"] % 60, 0)
        self.assertEqual(len(self.http.requests), 1)

    def test_unconfigured_channel_is_dead_with_what_to_configure(self):
        oid = self.crm.outbox("webhook", "webhook", body="{}")
        row = self.wait_state(oid, "dead")
        self.assertEqual(row["last_error"], "channel webhook is not "
                         "configured: add channels.webhook to crmd.conf")
        self.assertIn("channels.webhook", self.d.log_text())
        self.assertEqual(self.status()["delivery"]["dead"], 1)

    def test_unconfigured_backlog_is_refused_in_pieces(self):
        # 1,200 rows in one CRM commit: more than one pass refuses at a
        # time, so it takes several, and none is left queued or lost.
        self.crm.tx("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                    " FROM n WHERE i < 1200) INSERT INTO outbox(channel,"
                    " recipient, body) SELECT 'webhook', 'webhook', '{}'"
                    " FROM n")
        wait_for(lambda: self.crm.q1("SELECT count(*) FROM outbox WHERE"
                                     " state = 'dead'") == 1200,
                 timeout=20, what="the 1,200 webhook rows to be dead")
        self.assertEqual(self.crm.q("SELECT DISTINCT state, last_error FROM"
                                    " outbox"),
                         [("dead", "channel webhook is not configured: add"
                           " channels.webhook to crmd.conf")])
        self.assertEqual(self.status()["delivery"]["dead"], 1200)
        self.assertIn("at least 512 webhook message(s) dead",
                      self.d.log_text())


if __name__ == "__main__":
    unittest.main()
