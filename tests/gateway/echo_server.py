"""Loopback HTTP gateway for tests/gateway/test_http.c.

Prints its port, then answers each request to /reply/CODE with status
CODE (and Retry-After from ?ra=) and a JSON description of what it got:
method, headers, and the body decoded by the standard library (form by
urllib.parse, JSON by json).  GET /quit stops it; so does a minute idle.
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/quit":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.server.quit = True

    def answer(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        code = int(url.path.rsplit("/", 1)[1])
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        got = {"method": self.command, "path": url.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "raw": raw.decode("utf-8")}
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            got["form"] = dict(urllib.parse.parse_qsl(
                raw.decode("ascii"), keep_blank_values=True,
                strict_parsing=True, encoding="utf-8", errors="strict"))
        elif ctype.startswith("application/json"):
            got["json"] = json.loads(raw.decode("utf-8"))
        if "body" in query:
            out = query["body"].encode()
        else:
            out = json.dumps(got, ensure_ascii=False).encode()
        self.send_response(code)
        if "ra" in query:
            self.send_header("Retry-After", query["ra"])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = answer
    do_PUT = answer


def main():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 60
    server.quit = False
    server.handle_timeout = lambda: setattr(server, "quit", True)
    print(server.server_address[1], flush=True)
    while not server.quit:
        server.handle_request()


if __name__ == "__main__":
    sys.exit(main())
