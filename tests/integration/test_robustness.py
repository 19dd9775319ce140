"""Hostile or broken clients only ever close their own connection: the
daemon stays up and keeps serving everybody else."""
import json
import os
import random
import socket
import time
import unittest

from crmdtest import DaemonTest, read_line, wait_for


class Robustness(DaemonTest):
    extra_conf = ('control = { max_clients = 4; idle_timeout = "2s"; '
                  'max_request = 2048; };')

    def send_raw(self, data):
        """Sends data, returns (reply dict or None, closed_by_daemon)."""
        with self.d.connect() as s:
            s.sendall(data)
            line = read_line(s)
            reply = json.loads(line) if line else None
            s.settimeout(5)
            try:
                closed = s.recv(1) == b""
            except ConnectionResetError:
                closed = True   # hung up with our excess bytes unread
            except socket.timeout:
                closed = False
            return reply, closed

    def assert_served(self):
        """ping succeeds; a 503 only while clients that already hung up
        still hold their slots (the cap working, not a fault)."""
        deadline = time.monotonic() + 15
        while True:
            r = self.d.ctl("ping")
            busy = "too many control connections" in r.stderr
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertIsNone(self.d.proc.poll(), "daemon died")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_garbage_gets_400_and_close(self):
        self.d.start()
        for junk in (b"hello\n", b"{\n", b"[1,2]\n", b"\x00\xff\xfe\n",
                     b'{"v":1,"cmd":"ping"}{"v":1}\n', b"\xe4\xb8\n",
                     b'"just a string"\n', b"\n"):
            reply, closed = self.send_raw(junk)
            self.assertEqual(reply["status"], 400, junk)
            if reply["error"].startswith("malformed JSON"):
                self.assertTrue(closed, junk)
        self.assert_served()

    def test_bad_shapes(self):
        self.d.start()
        cases = [({"v": 1, "cmd": "nope"}, 404),
                 ({"v": 2, "cmd": "ping"}, 505),
                 ({"v": "1", "cmd": "ping"}, 400),
                 ({"cmd": "ping"}, 400),
                 ({"v": 1}, 400),
                 ({"v": 1, "cmd": 7}, 400),
                 ({"v": 1, "cmd": "ping", "args": []}, 400),
                 ({"v": 1, "cmd": "ping", "evil": 1}, 400)]
        for req, status in cases:
            self.assertEqual(self.d.request(req)["status"], status, req)
        self.assert_served()

    def test_duplicate_keys_rejected(self):
        self.d.start()
        reply, _ = self.send_raw(b'{"v":1,"cmd":"ping","cmd":"reload"}\n')
        self.assertEqual(reply["status"], 400)

    def test_oversized_request_413_and_close(self):
        self.d.start()
        reply, closed = self.send_raw(b"x" * 100000)
        self.assertEqual(reply["status"], 413)
        self.assertTrue(closed)
        big = json.dumps({"v": 1, "cmd": "ping", "args":
                          {"pad": "y" * 3000}}).encode() + b"\n"
        reply, closed = self.send_raw(big)
        self.assertEqual(reply["status"], 413)
        self.assertTrue(closed)
        self.assert_served()

    def test_half_sent_request_times_out_without_blocking_others(self):
        self.d.start()
        s = self.d.connect()
        s.sendall(b'{"v": 1, "cmd": "pi')
        self.assert_served()            # others are served meanwhile
        s.settimeout(30)
        self.assertEqual(s.recv(1), b"")  # daemon hung up on idle
        s.close()
        self.assert_served()

    def test_connection_cap(self):
        self.d.start()
        held = [self.d.connect() for _ in range(4)]
        time.sleep(0.2)  # let the daemon accept all four
        with self.d.connect() as s:
            reply = json.loads(read_line(s))
        self.assertEqual(reply["status"], 503)
        for s in held:
            s.close()
        wait_for(lambda: self.d.ctl("ping").returncode == 0,
                 what="slots to free up")

    def test_pipelined_requests_all_answered(self):
        self.d.start()
        with self.d.connect() as s:
            s.sendall(b'{"v":1,"cmd":"ping"}\n' * 200)
            replies = b""
            while replies.count(b"\n") < 200:
                chunk = s.recv(65536)
                self.assertTrue(chunk)
                replies += chunk
        lines = replies.splitlines()
        self.assertEqual(len(lines), 200)
        self.assertTrue(all(json.loads(l)["status"] == 200 for l in lines))

    def test_client_vanishing_mid_reply(self):
        self.d.start()
        for _ in range(50):
            s = self.d.connect()
            s.sendall(b'{"v":1,"cmd":"status"}\n' * 20)
            s.close()
        self.assert_served()

    def test_random_bytes(self):
        self.d.start()
        rng = random.Random(1234)
        for i in range(300):
            n = rng.choice((1, 10, 100, 1000, 3000))
            data = bytes(rng.getrandbits(8) for _ in range(n))
            if rng.random() < 0.7:
                data += b"\n"
            try:
                with self.d.connect(timeout=5) as s:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    read_line(s)
            except (OSError, socket.timeout):
                pass
        self.assert_served()
        self.assertIsNone(self.d.proc.poll())


if __name__ == "__main__":
    unittest.main()
