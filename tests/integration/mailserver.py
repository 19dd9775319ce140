"""A real SMTP server for the delivery tests: Debian's aiosmtpd on
127.0.0.1, in a thread of the test process.

It speaks AUTH PLAIN and LOGIN for one test user, STARTTLS (or TLS from
the first byte) with a self-signed certificate made at test time by the
`openssl` command, and records every session as it crossed the wire:
the client's bytes and the server's replies, in order, with the time of
each.  After STARTTLS the recording is of the decrypted protocol, so a
test sees exactly which commands crmd sent.

A test can make it answer 4xx or 5xx at the greeting, to RCPT or to
DATA, for every recipient or for one, and can take it down (the port
refuses connections, open sessions are cut) and bring it back up on the
same port."""
import asyncio
import email.parser
import email.policy
import logging
import os
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from aiosmtpd.smtp import SMTP, AuthResult

USER = "crmd-test"

# aiosmtpd's own chatter (deprecations it triggers itself) is not ours.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 and localhost; it is its
    own CA, so crmd's channels.email.cafile can name it.  Returns
    (certfile, keyfile), new files each time: two servers in one
    directory keep their own."""
    fd, cert = tempfile.mkstemp(prefix="smtp-cert-", suffix=".pem",
                                dir=directory)
    os.close(fd)
    fd, key = tempfile.mkstemp(prefix="smtp-key-", suffix=".pem",
                               dir=directory)
    os.close(fd)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Session:
    """One connection: events are (time, 'C' or 'S', bytes)."""

    def __init__(self, number, peer):
        self.number = number
        self.peer = peer
        self.opened = time.time()
        self.closed = None
        self.events = []
        self.tls = False
        self.login = None       # the user name that authenticated

    def client_bytes(self):
        return b"".join(b for _, d, b in self.events if d == "C")

    def parse(self):
        """The client's side as the server read it: a list of
        (time, kind, bytes) with kind 'cmd' (a command line, without its
        line end), 'auth' (an answer to a 334 challenge), or 'data' (a
        message as sent, dot-stuffed, without the final '.'), and a list
        of problems: a line not ended by CRLF, a CR inside a line, a line
        over 998 octets."""
        out, problems = [], []
        buf, mode, t_last = b"", "cmd", 0.0
        for t, d, b in self.events:
            if d == "S":
                if mode == "cmd" and buf == b"":
                    code = b[:3]
                    if code == b"354":
                        mode = "data"
                    elif code == b"334":
                        mode = "auth"
                continue
            buf += b
            t_last = t
            buf, mode = self._consume(buf, mode, t_last, out, problems)
        if buf:
            problems.append("unterminated client bytes %r" % buf[:80])
        return out, problems

    @staticmethod
    def _consume(buf, mode, t, out, problems):
        while buf:
            if mode == "data":
                if buf.startswith(b".\r\n"):
                    data, rest = b"", buf[3:]
                else:
                    end = buf.find(b"\r\n.\r\n")
                    if end < 0:
                        return buf, mode
                    data, rest = buf[:end + 2], buf[end + 5:]
                for ln in data.split(b"\r\n")[:-1]:
                    if b"\r" in ln or b"\n" in ln:
                        problems.append("bare CR or LF in DATA")
                    if len(ln) > 998 + 1:    # + a stuffed dot
                        problems.append("DATA line of %d octets" % len(ln))
                out.append((t, "data", data))
                buf, mode = rest, "cmd"
                continue
            nl = buf.find(b"\n")
            if nl < 0:
                return buf, mode
            line, buf = buf[:nl + 1], buf[nl + 1:]
            if not line.endswith(b"\r\n"):
                problems.append("line ended by a bare LF: %r" % line[:80])
                line = line[:-1]
            else:
                line = line[:-2]
            if b"\r" in line:
                problems.append("CR inside a line: %r" % line[:80])
            if len(line) > 998:
                problems.append("line of %d octets" % len(line))
            out.append((t, mode, line))
            if mode == "auth":
                mode = "cmd"
        return buf, mode

    def commands(self):
        """Just the command lines."""
        return [ln for _, k, ln in self.parse()[0] if k == "cmd"]

    def verbs(self):
        return [verb(ln) for ln in self.commands()]

    def transcript(self):
        """For a failure message: the session as text."""
        out = []
        for _, d, b in self.events:
            out.append("%s: %r" % (d, b[:200]))
        return "\n".join(out)


def verb(line):
    """'MAIL FROM:<a@b>' -> 'MAIL', 'rcpt to:<x>' -> 'RCPT'."""
    return line.split(b" ", 1)[0].split(b":", 1)[0].upper().decode(
        "ascii", "replace")


class Attempt:
    """A RCPT the server saw: when, for whom, and what it answered."""

    def __init__(self, session, rcpt, reply):
        self.t = time.time()
        self.session = session
        self.rcpt = rcpt
        self.reply = reply


class Delivery:
    """A message the server accepted (250 to its DATA)."""

    def __init__(self, session, envelope):
        self.t = time.time()
        self.session = session
        self.mail_from = envelope.mail_from
        self.rcpts = list(envelope.rcpt_tos)
        self.content = envelope.original_content or envelope.content
        self._msg = None

    @property
    def msg(self):
        if self._msg is None:
            self._msg = email.parser.BytesParser(
                policy=email.policy.default).parsebytes(self.content)
        return self._msg

    @property
    def message_id(self):
        m = re.search(rb"^Message-ID:\s*<([^>\r\n]*)>", self.content,
                      re.M | re.I)
        return m.group(1).decode("ascii", "replace") if m else None


class _Handler:
    """aiosmtpd hooks: answers as the MailServer's settings say."""

    def __init__(self, server):
        self.srv = server

    async def handle_RCPT(self, smtp, session, envelope, address, options):
        reply = self.srv.rcpt_reply(address)
        self.srv._attempt(smtp.rec, address, reply or "250 OK")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        reply = self.srv.data_reply(envelope.rcpt_tos)
        if reply:
            return reply
        self.srv._deliver(smtp.rec, envelope)
        return "250 OK: queued"


class _RecordingSMTP(SMTP):
    def __init__(self, server, *args, **kw):
        super().__init__(*args, **kw)
        self.srv = server
        self.rec = None
        self._refused = False

    def connection_made(self, transport):
        if self.rec is None:            # not the STARTTLS re-entry
            self.rec = self.srv._new_session(transport)
            self._raw = transport
            self.srv._transports.add(transport)
            greeting = self.srv.greeting
            self._refused = greeting is not None
            if self._refused:
                # A server that is up but refuses work: the attempt is
                # seen, nothing else happens.
                transport.write(greeting.encode() + b"\r\n")
                self.rec.events.append((time.time(), "S",
                                        greeting.encode()))
                transport.close()
                self.rec.closed = time.time()
                return
        else:
            self.rec.tls = True
        super().connection_made(transport)

    def data_received(self, data):
        self.rec.events.append((time.time(), "C", bytes(data)))
        if not self._refused:
            super().data_received(data)

    def eof_received(self):
        return False if self._refused else super().eof_received()

    def connection_lost(self, exc):
        self.rec.closed = time.time()
        self.srv._transports.discard(self._raw)
        if not self._refused:
            super().connection_lost(exc)

    async def push(self, status):
        b = status.encode("utf-8") if isinstance(status, str) else status
        self.rec.events.append((time.time(), "S", b))
        await super().push(status)


class MailServer:
    """An SMTP server on 127.0.0.1:port.

    tls: None, "starttls" (offered after EHLO; tls_required makes every
    command but EHLO, STARTTLS and QUIT wait for it) or "implicit"
    (smtps).  password: AUTH PLAIN/LOGIN for USER; with auth_required, no
    MAIL before it."""

    def __init__(self, workdir, port=None, tls=None, tls_required=False,
                 password=None, auth_required=False):
        self.workdir = workdir
        self.port = port or free_port()
        self.tls = tls
        self.tls_required = tls_required
        self.password = password
        self.auth_required = auth_required
        self.cert = self.key = None
        if tls:
            self.cert, self.key = make_cert(workdir)
        self.lock = threading.Lock()
        self.sessions = []
        self.attempts = []
        self.deliveries = []
        self.auth_failures = 0
        # What to answer; a test changes these at any time.
        self.greeting = None        # e.g. "421 4.3.2 down for maintenance"
        self.rcpt_default = None    # e.g. "451 4.3.0 try again later"
        self.rcpt_for = {}          # address -> reply
        self.data_default = None
        self.data_for = {}
        self._transports = set()
        self._server = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        daemon=True)
        self._thread.start()

    # -- what the daemon's config needs

    def url(self):
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    # -- up and down

    def start(self):
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)
        fut.result(30)
        return self

    async def _listen(self):
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert, self.key)
        self._ctx = ctx
        self._server = await self.loop.create_server(
            self._factory, host="127.0.0.1", port=self.port,
            ssl=ctx if self.tls == "implicit" else None,
            reuse_address=True)

    def _factory(self):
        kw = dict(hostname="mail.test", loop=self.loop,
                  auth_require_tls=bool(self.tls_required), timeout=60)
        if self.tls == "starttls":
            kw.update(tls_context=self._ctx,
                      require_starttls=self.tls_required)
        if self.password is not None:
            kw.update(authenticator=self._authenticate,
                      auth_required=self.auth_required)
        return _RecordingSMTP(self, _Handler(self), **kw)

    def stop(self):
        """Down: the port refuses connections and open sessions end."""
        fut = asyncio.run_coroutine_threadsafe(self._close(), self.loop)
        fut.result(30)

    async def _close(self):
        if self._server is not None:
            self._server.close()
            self._server = None
        for t in list(self._transports):
            t.abort()
        self._transports.clear()

    def close(self):
        """For cleanup: down, and the thread ends."""
        try:
            self.stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            if not self._thread.is_alive():
                self.loop.close()

    # -- replies

    def rcpt_reply(self, address):
        return self.rcpt_for.get(address, self.rcpt_default)

    def data_reply(self, rcpts):
        for r in rcpts:
            if r in self.data_for:
                return self.data_for[r]
        return self.data_default

    def _authenticate(self, server, session, envelope, mechanism, data):
        ok = (mechanism in ("PLAIN", "LOGIN")
              and data.login == USER.encode()
              and data.password == self.password.encode())
        if ok:
            server.rec.login = USER
        else:
            with self.lock:
                self.auth_failures += 1
        return AuthResult(success=ok, handled=False)

    # -- recording (called on the server's thread)

    def _new_session(self, transport):
        with self.lock:
            s = Session(len(self.sessions), transport.get_extra_info(
                "peername"))
            # smtps: encrypted from the first byte.
            s.tls = transport.get_extra_info("ssl_object") is not None
            self.sessions.append(s)
        return s

    def _attempt(self, session, rcpt, reply):
        with self.lock:
            self.attempts.append(Attempt(session, rcpt, reply))

    def _deliver(self, session, envelope):
        with self.lock:
            self.deliveries.append(Delivery(session, envelope))

    # -- what a test reads

    def snapshot(self):
        """(sessions, attempts, deliveries), copied under the lock."""
        with self.lock:
            return (list(self.sessions), list(self.attempts),
                    list(self.deliveries))

    def delivered_to(self):
        with self.lock:
            return [r for d in self.deliveries for r in d.rcpts]

    def wait_delivered(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= n:
                    return
            time.sleep(0.05)
        with self.lock:
            got = len(self.deliveries)
        raise AssertionError("SMTP server got %d messages, expected %d"
                             % (got, n))
