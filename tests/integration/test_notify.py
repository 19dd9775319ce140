"""systemd notification protocol against a fake NOTIFY_SOCKET: READY=1 only
once the control socket answers, WATCHDOG=1 at least every half period,
RELOADING=1 and STOPPING=1 around reload and stop."""
import os
import signal
import socket
import time
import unittest

from crmdtest import DaemonTest

WATCHDOG_USEC = 600000


class Notify(DaemonTest):
    def setUp(self):
        super().setUp()
        self.nsock_path = os.path.join(self.d.dir, "notify.sock")
        self.nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.nsock.bind(self.nsock_path)
        self.addCleanup(self.nsock.close)

    def messages(self, until, timeout=20):
        """Yields (time, set of lines) until predicate `until` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.nsock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.nsock.recv(4096).decode()
            lines = set(data.splitlines())
            yield time.monotonic(), lines
            if until(lines):
                return
        self.fail("notification not received in time")

    def start_notified(self):
        self.d.start(wait=False, env={"NOTIFY_SOCKET": self.nsock_path,
                                      "WATCHDOG_USEC": str(WATCHDOG_USEC)})

    def test_ready_only_when_socket_answers(self):
        self.start_notified()
        for _, lines in self.messages(lambda l: "READY=1" in l):
            if "READY=1" in lines:
                # At the moment of READY the socket must already answer.
                self.assertTrue(self.d.answers())
                self.assertTrue(any(x.startswith("STATUS=") for x in lines))
            else:
                self.assertEqual(lines, {"WATCHDOG=1"})

    def test_watchdog_every_half_period(self):
        self.start_notified()
        stamps = []
        start = time.monotonic()
        for t, lines in self.messages(lambda l: False if
                                      time.monotonic() - start < 3 else True):
            if "WATCHDOG=1" in lines:
                stamps.append(t)
        self.assertGreater(len(stamps), 5)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        self.assertLessEqual(max(gaps), WATCHDOG_USEC / 2 / 1e6,
                             "watchdog gaps %s" % gaps)

    def test_reloading_and_stopping(self):
        self.start_notified()
        list(self.messages(lambda l: "READY=1" in l))
        self.d.proc.send_signal(signal.SIGHUP)
        seen = []
        for _, lines in self.messages(lambda l: "READY=1" in l):
            seen.append(lines)
        self.assertTrue(any("RELOADING=1" in l for l in seen))
        self.d.proc.send_signal(signal.SIGTERM)
        list(self.messages(lambda l: "STOPPING=1" in l))
        self.assertEqual(self.d.proc.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
