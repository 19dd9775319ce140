"""A real HTTP server for the delivery tests: the standard library's
http.server on 127.0.0.1, threaded, HTTP/1.1 with keep-alive.

It records every request (method, path, headers, body, the connection
it came on, when) and answers as the test says: a default Action, or
Actions queued for one Idempotency-Key or for the next requests, each a
status (200, 400, 429 with Retry-After, 500...), a body, a delay, or a
dropped connection; or a responder function decides.  It can be taken down (the port refuses connections
and open keep-alive connections are cut) and brought back on the same
port."""
import itertools
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Action:
    """How to answer one request."""

    def __init__(self, status=200, body=None, retry_after=None, delay=0.0,
                 drop=False, headers=()):
        self.status = status
        self.body = body if body is not None else b'{"ok":true}'
        self.retry_after = retry_after
        self.delay = delay
        self.drop = drop
        self.headers = headers

    def __repr__(self):
        return "Action(%d%s%s)" % (self.status,
                                   ", drop" if self.drop else "",
                                   ", delay %g" % self.delay
                                   if self.delay else "")


class Request:
    def __init__(self, handler, body, conn):
        self.t = time.time()
        self.method = handler.command
        self.path = handler.path
        self.headers = list(handler.headers.items())
        self.body = body
        self.conn = conn
        self.answer = None      # the Action given

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def key(self):
        return self.header("Idempotency-Key")

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.sink = self.server.sink
        self.conn_id = self.sink._conn_opened(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.sink._conn_closed(self.connection)

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        req = Request(self, body, self.conn_id)
        act = self.sink._choose(req)
        req.answer = act
        self.sink._record(req)
        if act.delay:
            time.sleep(act.delay)
        if act.drop:
            # No reply at all: the client sees the connection end.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(act.status)
        if act.retry_after is not None:
            self.send_header("Retry-After", str(act.retry_after))
        for k, v in act.headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(act.body)))
        self.end_headers()
        self.wfile.write(act.body)

    do_POST = do_PUT = do_GET = do_PATCH = answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, kill -9) is part of the tests.
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError,
                                              ConnectionResetError)):
            super().handle_error(request, client_address)


class HttpSink:
    def __init__(self, port=0, tls=None):
        """tls: (certfile, keyfile) to answer over HTTPS."""
        self.port = port
        self.tls = tls
        self.lock = threading.Lock()
        self.requests = []
        self.default = Action()
        self.by_key = {}        # Idempotency-Key -> [Action, ...]
        self.next = []          # Actions for the next requests, in order
        self.responder = None   # or f(Request) -> Action or None, first
        self._conns = {}
        self._ids = itertools.count(1)
        self._httpd = None
        self._thread = None

    def url(self, path="/"):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http",
                                        self.port, path)

    def start(self):
        self._httpd = _Server(("127.0.0.1", self.port), _Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket,
                                                 server_side=True)
        self._httpd.sink = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Down: refuse connections, cut the open ones."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(10)

    close = stop

    # -- on the server's threads

    def _conn_opened(self, sock):
        with self.lock:
            n = next(self._ids)
            self._conns[sock] = n
        return n

    def _conn_closed(self, sock):
        with self.lock:
            self._conns.pop(sock, None)

    def _choose(self, req):
        if self.responder is not None:
            act = self.responder(req)
            if act is not None:
                return act
        with self.lock:
            q = self.by_key.get(req.key)
            if q:
                return q.pop(0)
            if self.next:
                return self.next.pop(0)
            return self.default

    def _record(self, req):
        with self.lock:
            self.requests.append(req)

    # -- what a test reads

    def snapshot(self):
        with self.lock:
            return list(self.requests)

    def answered(self, status=200):
        """Requests given status (not dropped)."""
        return [r for r in self.snapshot()
                if not r.answer.drop and r.answer.status == status]

    def wait_requests(self, pred, timeout=60, what="requests"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.snapshot()):
                return self.snapshot()
            time.sleep(0.05)
        raise AssertionError("HTTP sink: timed out waiting for %s (got %d "
                             "requests)" % (what, len(self.snapshot())))
