"""The CRM application's side of the shared database, for tests: users,
customers, contracts, follow-ups and plans written with plain sqlite3 from
this (separate) process, as the real CRM would."""
import time


def now():
    return int(time.time())


class Crm:
    def __init__(self, daemon):
        self.d = daemon
        self.db = daemon.db_connect()
        self.seq = 0

    def close(self):
        self.db.close()

    def tx(self, sql, args=()):
        c = self.db
        c.execute("BEGIN IMMEDIATE")
        try:
            cur = c.execute(sql, args)
            c.execute("COMMIT")
            return cur.lastrowid
        except Exception:
            c.execute("ROLLBACK")
            raise

    def q(self, sql, args=()):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, args=()):
        r = self.db.execute(sql, args).fetchone()
        return r[0] if r else None

    def user(self, name="张伟", email="zhangwei@example.com",
             phone="+8613800000001", manager=None):
        return self.tx("INSERT INTO users(name, email, phone, manager_id) "
                       "VALUES (?, ?, ?, ?)", (name, email, phone, manager))

    def customer(self, name="上海明远科技有限公司", owner=None, level="A",
                 status="intent", birthday=None):
        self.seq += 1
        return self.tx("INSERT INTO customers(code, name, status, level, "
                       "owner_id, birthday) VALUES (?, ?, ?, ?, ?, ?)",
                       ("202611-%04d" % self.seq, name, status, level, owner,
                        birthday))

    def reminder(self, customer, user, due, kind="followup", channels="",
                 note=""):
        return self.tx("INSERT INTO reminders(customer_id, user_id, kind, "
                       "due_at, channels, note) VALUES (?, ?, ?, ?, ?, ?)",
                       (customer, user, kind, due, channels, note))

    def state(self, rid):
        return self.q1("SELECT state FROM reminders WHERE id = ?", (rid,))

    def outbox(self, channel, recipient, subject="", body="", key=None,
               audience="user", customer=None, due=None, name=None,
               html=None):
        """Queues one message as the CRM application would.  Text values
        may be bytes: they are stored as TEXT byte for byte, so CR, LF,
        NUL and invalid UTF-8 reach crmd as they are.  name and html: an
        email's recipient_name and body_html."""
        return self.tx(
            "INSERT INTO outbox(channel, recipient, subject, body, "
            "idempotency_key, audience, customer_id, next_attempt_at, "
            "recipient_name, body_html) "
            "VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
            "?, ?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT))",
            (channel, recipient, subject, body, key, audience, customer,
             now() if due is None else due, name, html))

    def outbox_row(self, oid):
        """One outbox row as a dict (invalid UTF-8 shown as U+FFFD)."""
        old = self.db.text_factory
        self.db.text_factory = lambda b: b.decode("utf-8", "replace")
        try:
            cur = self.db.execute("SELECT * FROM outbox WHERE id = ?", (oid,))
            names = [d[0] for d in cur.description]
            r = cur.fetchone()
        finally:
            self.db.text_factory = old
        return dict(zip(names, r)) if r else None
