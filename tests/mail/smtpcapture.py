"""A real SMTP server (Debian's aiosmtpd) on 127.0.0.1 that records the
raw bytes every client sent, one file per session, so tests can check
exactly what crossed the wire rather than what the server made of it."""
import itertools
import os

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return '250 OK'


class _RecordingSMTP(SMTP):
    def __init__(self, *args, record_dir, counter, **kw):
        super().__init__(*args, **kw)
        self._record_path = os.path.join(
            record_dir, 'session-%05d.raw' % next(counter))
        self._record = None

    def connection_made(self, transport):
        self._record = open(self._record_path, 'wb')
        super().connection_made(transport)

    def data_received(self, data):
        self._record.write(data)
        self._record.flush()
        super().data_received(data)

    def connection_lost(self, exc):
        super().connection_lost(exc)
        self._record.close()


class CaptureServer(Controller):
    """Controller whose sessions write client bytes to record_dir."""

    def __init__(self, record_dir, port):
        self.record_dir = record_dir
        self._counter = itertools.count()
        super().__init__(_Sink(), hostname='127.0.0.1', port=port)

    def factory(self):
        return _RecordingSMTP(self.handler, record_dir=self.record_dir,
                              counter=self._counter)

    def sessions(self):
        """The recorded client byte streams, in order.  Controller's own
        readiness probe connects without sending anything; empty records
        are left out."""
        out = []
        for f in sorted(os.listdir(self.record_dir)):
            with open(os.path.join(self.record_dir, f), 'rb') as fp:
                data = fp.read()
            if data:
                out.append(data)
        return out


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
