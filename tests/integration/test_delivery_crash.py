"""kill -9 while crmd drains 10,000 messages to a real SMTP server and a
real HTTP gateway, queued meanwhile by another process; restarted after
each kill.  Nothing may be lost, and a message may arrive twice only if
it was in flight when crmd died, and then under the same key."""
import signal
import subprocess
import sys

from crmdtest import wait_for
from test_delivery import (DeliveryTest, delivery_conf, email_conf,
                           message_id, sms_conf, text_of)

N = 10000               # half email, half SMS
KILLS = 5
CONCURRENCY = 8         # per channel
# Transfers crmd may have started and not yet recorded, per channel: those
# handed to its transport threads, 8 per connection, which start the next
# as one ends while crmd's loop is busy writing (docs/delivery.md).
XFER_DEPTH = 8
STARTED = {"email": XFER_DEPTH * CONCURRENCY, "sms": XFER_DEPTH * CONCURRENCY}

# The other process: the CRM application queueing messages in batches.
INSERTER = r"""
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db, timeout=30, isolation_level=None)
c.execute("PRAGMA busy_timeout=30000")
batch = 500
for lo in range(0, n, batch):
    c.execute("BEGIN IMMEDIATE")
    for i in range(lo, min(n, lo + batch)):
        if i % 2 == 0:
            c.execute("INSERT INTO outbox(channel, recipient, subject, body, "
                      "idempotency_key) VALUES ('email', ?, ?, ?, ?)",
                      ("k%05d@example.com" % i, "批量 %d" % i,
                       "第 %d 条消息\n" % i, "crash-%05d" % i))
        else:
            c.execute("INSERT INTO outbox(channel, recipient, body, "
                      "idempotency_key) VALUES ('sms', ?, ?, ?)",
                      ("+86138%08d" % i, "短信 %d" % i, "crash-%05d" % i))
    c.execute("COMMIT")
    time.sleep(0.05)
"""


class CrashDrain(DeliveryTest):
    def test_kill9_while_draining(self):
        mail = self.mail_server()
        sink = self.http_sink()
        self.start(delivery_conf(
            email=email_conf(mail, concurrency=CONCURRENCY, timeout="5s"),
            sms=sms_conf(sink, concurrency=CONCURRENCY, timeout="5s"),
            outbox={"lease": "20s"}))
        crm = self.crm
        inserter = subprocess.Popen([sys.executable, "-c", INSERTER,
                                     self.d.db, str(N)])
        self.addCleanup(inserter.kill)

        def sent():
            return crm.q1("SELECT count(*) FROM outbox WHERE state = 'sent'")

        in_flight = []      # per kill: the keys of the rows being sent
        for k in range(KILLS):
            goal = (k + 1) * N // (KILLS + 2)
            wait_for(lambda: sent() >= goal, timeout=60, step=0.05,
                     what="%d messages sent before kill %d" % (goal, k + 1))
            self.d.proc.send_signal(signal.SIGKILL)
            self.d.proc.wait()
            self.d.logf.close()
            in_flight.append({r[0] for r in crm.q(
                "SELECT idempotency_key FROM outbox WHERE state = 'sending'")})
            self.d.start()
        self.assertEqual(inserter.wait(60), 0)
        wait_for(lambda: sent() == N, timeout=90, step=0.2,
                 what="all %d messages sent" % N)
        self.assertEqual(crm.q1("SELECT count(*) FROM outbox"), N)

        _, _, deliveries = mail.snapshot()
        requests = [r for r in sink.snapshot() if r.answer.status == 200]
        received = {}       # key -> [content, ...]
        for d in deliveries:
            key = d.message_id[:-len("@crmd")]
            received.setdefault(key, []).append(
                (str(d.msg["Subject"]), text_of(d.msg)))
            self.assertEqual(d.message_id, message_id(key))
        for r in requests:
            received.setdefault(r.key, []).append(r.body)
        keys = {r[0] for r in crm.q("SELECT idempotency_key FROM outbox")}

        # 0 lost: every row is sent and every key arrived.
        self.assertEqual(set(received) - keys, set())
        self.assertEqual(len(keys - set(received)), 0,
                         sorted(keys - set(received))[:10])
        # Duplicates: only of messages in flight (state 'sending') at a
        # kill, no more than were started at once in all, and each
        # identical to its first copy under the same key (subject and text;
        # the Date and the MIME boundary differ).
        dups = {k: v for k, v in received.items() if len(v) > 1}
        extra = sum(len(v) - 1 for v in dups.values())
        suspects = set().union(*in_flight)
        self.assertEqual(set(dups) - suspects, set())
        self.assertLessEqual(extra, sum(STARTED.values()) * KILLS)
        for k, copies in dups.items():
            self.assertEqual(len(set(copies)), 1, k)
        # Each duplicate belongs to the first kill it was in flight at.
        per_kill, seen = [], set()
        for flying in in_flight:
            mine = (set(dups) & flying) - seen
            seen |= flying
            per_kill.append(sum(len(dups[k]) - 1 for k in mine))
        print("\n%d messages, %d kills, %d in flight at the kills, "
              "%d duplicates %r" % (N, KILLS, len(suspects), extra,
                                    per_kill), file=sys.stderr)
