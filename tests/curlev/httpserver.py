"""HTTP/1.1 keep-alive test server for tests/curlev (stdlib only).

Listens on 127.0.0.1 at a free port and prints the port on stdout.  It
exits when stdin closes, so it never outlives the test that started it.

  POST /echo     200, body "echo:" + the request body
  any  /slow?ms=N  waits N ms, then 200 "slow"
  any  /drop     closes the connection without answering
  any  /close    200 "close" with Connection: close, then closes
  any  /hangup?ms=N  200 "hangup", keeps the connection, and closes it
                 N ms later while the client holds it idle
  GET  /stats    "connections=C requests=R": the connections that carried
                 at least one request other than /stats, and those requests
"""
import http.server
import os
import socket
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()
stats = {"connections": 0, "requests": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.counted = False

    def log_message(self, fmt, *args):
        pass

    def count(self):
        with lock:
            if not self.counted:
                stats["connections"] += 1
                self.counted = True
            stats["requests"] += 1

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            with lock:
                text = "connections=%d requests=%d" % (
                    stats["connections"], stats["requests"])
            self.body()
            self.reply(text.encode())
            return
        self.count()
        data = self.body()
        if url.path == "/drop":
            self.close_connection = True
            return
        if url.path == "/close":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Connection", "close")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"close")
            return
        if url.path == "/hangup":
            q = urllib.parse.parse_qs(url.query)
            self.reply(b"hangup")
            conn = self.connection
            threading.Timer(int(q.get("ms", ["100"])[0]) / 1000,
                            conn.shutdown, (socket.SHUT_RDWR,)).start()
            return
        if url.path == "/slow":
            q = urllib.parse.parse_qs(url.query)
            time.sleep(int(q.get("ms", ["1000"])[0]) / 1000)
            self.reply(b"slow")
            return
        self.reply(b"echo:" + data)

    do_GET = route
    do_POST = route


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # clients aborting mid-request are part of the tests


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
