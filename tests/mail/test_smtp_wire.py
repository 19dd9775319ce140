"""End to end: an injection corpus sent by test_mail_send (mail_build() +
libcurl) to a real aiosmtpd on loopback, judged on the raw client bytes.

Addresses carrying a payload must be refused before anything is sent.
Every other payload must be delivered as exactly EHLO, MAIL FROM, one
RCPT TO, DATA, QUIT; with no line over 998 octets and no bare CR or LF;
with only the expected headers; and with the subject, display names and
body decoding back to the original text (after the documented cleaning:
invalid UTF-8 and NUL to U+FFFD, line breaks in headers to spaces, CRLF
line endings in bodies).

usage: test_smtp_wire.py PATH/TO/test_mail_send
"""
import base64
import email.parser
import email.policy
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpcapture import CaptureServer, free_port  # noqa: E402

FROM = b'crm@example.com'
TO = b'kehu@example.cn'
TOP_HEADERS = {'from', 'to', 'subject', 'date', 'message-id',
               'mime-version', 'content-type'}
PART_HEADERS = {'content-type', 'content-transfer-encoding'}

# Payloads that go into display names, subjects and bodies.
PAYLOADS = [
    b'\r', b'\n', b'\r\n', b'\x00', b'\n.\n', b'\r\n.\r\n', b'\n.', b'.\n',
    b'\nRCPT TO:<x@evil.example>', b'\r\nRCPT TO:<x@evil.example>\r\n',
    b'\nBcc: x@evil.example', b'\r\nBcc: x@evil.example\r\n',
    b'\r\n\r\nbody smuggled into the headers',
    b'\nSubject: spoofed', b'\r\nContent-Type: text/html',
    b'\r\nDATA\r\n', b'\r\nQUIT\r\n', b'\rRSET\r',
    b'\r\n.\r\nMAIL FROM:<x@evil.example>\r\nRCPT TO:<y@evil.example>'
    b'\r\nDATA\r\n',
    b'\n\x00Bcc: x@evil.example', b'\x00\r\nBcc: x@evil.example',
    b'=?UTF-8?B?DQpCY2M6IHhAZXZpbC5leGFtcGxl?=',
    b'=?UTF-8?Q?=0D=0ABcc:_x@evil.example?=',
    '张伟'.encode(), '王芳 <wang@example.cn>'.encode(),
    '尊敬的客户：您的合同即将到期'.encode(),
    '🎉🚀 续约提醒 👍🏽'.encode(), '👨‍👩‍👧‍👦'.encode(),
    b'\xff\xfe', b'\xe4\xb8', b'\xe4\xb8 tail', b'\xed\xa0\x80',
    b'\xc0\xaf', b'\xf4\x90\x80\x80', b'\x80abc', b'\xf0\x9f\x98',
    b'\t', b'\x1b[31mred\x1b[0m', b'\x7f', b'\r\r\n', b'\n\r', b'\x0b\x0c',
    b'"quoted" <x@evil.example>', b'a, b@evil.example', b'x@evil.example',
    b'<>', b'()', b'\\', b'=?', b'?=', b'  leading and trailing  ',
    b'x' * 1000, b'word ' * 2000, '长'.encode() * 3400,
    b'a' * 10000, '🎉'.encode() * 2500,
]

# Payloads only meaningful in bodies (dot-stuffing, long lines).
BODY_ONLY = [
    b'.', b'..', b'.\r\n', b'.\r\n.\r\n', b'line\r\n.\r\nafter',
    b'line\n..\nafter', b'.leading dot', b'\r\n.', b'end\r\n.',
    b'From: boss@evil.example\r\nTo: x@evil.example\r\n\r\nhi',
    b'--boundary\r\nContent-Type: text/html\r\n\r\n<b>x</b>',
    b'a' * 998, b'a' * 999, b'a' * 5000, b'a' * 998 + b'\r\n' + b'b' * 998,
    '合'.encode() * 400, b'x\r\n' * 3000, b'', b'\r\n', b'\r\n\r\n',
    b'MIME-Version: 2.0', b'\r\n\r\n\r\n.\r\n\r\n',
]

# Address payloads: each must be refused, as sender and as recipient.
BAD_ADDRESSES = [
    (b'a\r@example.com', 'contains CR'), (b'a@example.com\r', 'contains CR'),
    (b'a@example.com\n', 'contains LF'),
    (b'a@example.com\r\nRCPT TO:<x@evil.example>', 'contains CR'),
    (b'a@example.com\nDATA', 'contains LF'),
    (b'a\x00@example.com', 'contains NUL'),
    (b'a@example.com\x00x@evil.example', 'contains NUL'),
    (b'<a@example.com>', "contains '<'"), (b'a@example.com>', "contains '>'"),
    (b'a@example.com> SIZE=1', "contains '>'"),
    (b'a<x@evil.example>@example.com', "contains '<'"),
    (b'<>', "contains '<'"), (b'', 'is empty'),
    (b'a b@example.com', 'space'), (b'a@example.com x@evil.example', 'space'),
    (b'a@example.com\t', 'control'), (b'a\x7f@example.com', 'control'),
    (b'a@example.com,x@evil.example', 'atext'),
    (b'a@example.com;x@evil.example', 'atext'),
    (b'example.com', "no '@'"), (b'@example.com', 'empty local part'),
    (b'a@', 'empty domain'), (b'a@@example.com', 'atext'),
    (b'a..b@example.com', "'..'"), (b'.a@example.com', "'.'"),
    (b'a.@example.com', "'.'"), ('张伟@例子.中国'.encode(), 'non-ASCII'),
    (b'a@-example.com', "'-'"), (b'a@example-.com', "'-'"),
    (b'a@example..com', 'label'), (b'"a b"@example.com', 'space'),
    (b'"a"@example.com', 'atext'), (b'a@[127.0.0.1]', 'host name'),
    (b'a' * 65 + b'@example.com', '64'),
    (b'a@' + b'b' * 250 + b'.com', '254'), (b'a\\@example.com', 'atext'),
    (b'a@example.com\xe2\x80\xa8', 'non-ASCII'),
]

GOOD_ADDRESSES = [
    b'a+tag@example.com', b'first.last@sub.example.co', b"o'brien@ex.com",
    b'x@localhost', b'UPPER@EXAMPLE.COM', b"a!#$%&'*+-/=?^_`{|}~@ex.com",
    b'a' * 64 + b'@example.com', b'1@2.3',
]


def clean_header(raw):
    s = raw.decode('utf-8', 'replace')
    s = re.sub('\r\n|[\r\n\t]', ' ', s)
    return re.sub('[\x00-\x1f\x7f]', '\ufffd', s)


def clean_name(raw):
    return ' '.join(w for w in clean_header(raw).split(' ') if w)


EW = re.compile(r'=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=')


def decode_phrase(raw):
    """RFC 2047 by hand: a display name that is either plain atoms or
    only encoded-words separated by folding white space."""
    if '=?' not in raw:
        return raw
    words = raw.split()
    assert all(EW.fullmatch(w) for w in words), raw
    return b''.join(base64.b64decode(EW.fullmatch(w).group(1))
                    for w in words).decode('utf-8')


def clean_body(raw):
    s = raw.decode('utf-8', 'replace').replace('\x00', '\ufffd')
    return re.sub('\r\n|\r|\n', '\r\n', s)


def is_7bit(body):
    """The documented choice: 7bit for ASCII with lines <= 998 octets,
    base64 otherwise."""
    b = clean_body(body).encode()
    return b.isascii() and all(len(ln) <= 998 for ln in b.split(b'\r\n'))


def dot_lines(body):
    if body is None or not is_7bit(body):
        return 0
    return sum(1 for ln in clean_body(body).split('\r\n')
               if ln.startswith('.'))


class Case:
    def __init__(self, what, expect='sent', reason=None, **fields):
        self.what = what
        self.expect = expect
        self.reason = reason
        self.f = dict(from_addr=FROM, from_name='客户关系系统'.encode(),
                      to_addr=TO, to_name='张伟'.encode(),
                      subject='续约提醒'.encode(), text=b'hello\n',
                      html=None)
        self.f.update(fields)


def corpus():
    cases = []
    for p in PAYLOADS:
        cases.append(Case('subject', subject=b'S' + p + b'E'))
        cases.append(Case('from name', from_name=p))
        cases.append(Case('to name', to_name='客户'.encode() + p))
        cases.append(Case('body', text=b'Dear customer,\n' + p + b'\nbye\n'))
    for p in BODY_ONLY:
        cases.append(Case('body', text=p))
        cases.append(Case('html', text=b'plain', html=b'<p>' + p + b'</p>'))
    for a, why in BAD_ADDRESSES:
        cases.append(Case('sender address', 'refused',
                          'sender address', from_addr=a))
        cases.append(Case('recipient address', 'refused',
                          'recipient address', to_addr=a))
        cases[-1].detail = cases[-2].detail = why
    for a in GOOD_ADDRESSES:
        cases.append(Case('good sender', from_addr=a))
        cases.append(Case('good recipient', to_addr=a))
    cases.append(Case('empty subject and names', subject=None,
                      from_name=None, to_name=b''))
    for i, c in enumerate(cases):
        c.key = ('case-%04d' % i).encode()
    return cases


def hexf(v):
    return '-' if v is None else v.hex()


def write_cases(path, cases):
    with open(path, 'w') as fp:
        for c in cases:
            f = c.f
            fp.write('\t'.join(hexf(v) for v in (
                c.key, f['from_addr'], f['from_name'], f['to_addr'],
                f['to_name'], f['subject'], f['text'], f['html'])) + '\n')


class Checker:
    def __init__(self):
        self.failures = []
        self.extra_commands = 0
        self.extra_headers = 0
        self.stuffed_lines = 0

    def fail(self, case, msg):
        self.failures.append('%s (%s): %s' % (
            case.key.decode() if case else '?',
            case.what if case else '?', msg))

    def split_session(self, raw):
        """(commands, data lines) of one session; checks line shape."""
        lines = raw.split(b'\r\n')
        if lines[-1] != b'':
            return None, None, 'session does not end with CRLF'
        lines.pop()
        for ln in lines:
            if b'\r' in ln or b'\n' in ln:
                return None, None, 'bare CR or LF on the wire'
            if len(ln) > 998:
                return None, None, 'line of %d octets' % len(ln)
        cmds, data, in_data = [], [], False
        for ln in lines:
            if in_data:
                if ln == b'.':
                    in_data = False
                else:
                    data.append(ln)
            else:
                cmds.append(ln)
                in_data = ln.upper() == b'DATA'
        return cmds, data, None

    def check_commands(self, case, cmds):
        f = case.f
        expect = [re.compile(rb'EHLO \S+'),
                  re.compile(rb'MAIL FROM:<' + re.escape(f['from_addr']) +
                             rb'>( SIZE=\d+)?'),
                  re.compile(rb'RCPT TO:<' + re.escape(f['to_addr']) + rb'>'),
                  re.compile(rb'DATA'), re.compile(rb'QUIT')]
        extra = max(0, len(cmds) - len(expect))
        for pat, cmd in zip(expect, cmds):
            if not pat.fullmatch(cmd):
                extra += 1
        if extra or len(cmds) != len(expect):
            self.fail(case, 'commands %r' % [c[:60] for c in cmds])
        self.extra_commands += extra

    def check_headers(self, case, msg, datalines):
        names = [k.lower() for k in msg.keys()]
        extra = [n for n in names if n not in TOP_HEADERS]
        extra += [n for n in set(names) if names.count(n) > 1]
        for part in msg.iter_parts():
            pn = [k.lower() for k in part.keys()]
            extra += [n for n in pn if n not in PART_HEADERS]
        if extra:
            self.fail(case, 'extra headers %r' % extra)
        self.extra_headers += len(extra)
        missing = TOP_HEADERS - set(names)
        if missing:
            self.fail(case, 'missing headers %r' % sorted(missing))
        for ln in datalines:
            if ln == b'':
                break
            # libcurl writes Content-Type and its boundary on one line
            # of 80; an address too long to share a line is alone on one.
            if len(ln) > 78 and ln.lstrip()[:1] != b'<' and \
               not ln.startswith(b'Content-Type: multipart/'):
                self.fail(case, 'header line of %d chars' % len(ln))

    def check_content(self, case, msg, raw_headers):
        f = case.f
        if msg['Message-ID'] != '<%s@crmd>' % case.key.decode():
            self.fail(case, 'Message-ID %r' % msg['Message-ID'])
        want = clean_header(f['subject'] or b'')
        if str(msg['Subject']) != want:
            self.fail(case, 'subject %r != %r' % (
                str(msg['Subject'])[:80], want[:80]))
        for hdr, name, addr in (('From', 'from_name', 'from_addr'),
                                ('To', 'to_name', 'to_addr')):
            # Python's structured parser: exactly the one address...
            a = msg[hdr].addresses
            if len(a) != 1 or a[0].addr_spec != f[addr].decode():
                self.fail(case, '%s parses as %r' % (hdr, a))
            # ...and the display name decoded strictly (Python's phrase
            # parser puts spaces between adjacent encoded-words).
            raw = re.sub(r'\r\n(?= )', '', raw_headers[hdr.lower()])
            m = re.fullmatch(r' ?(.*?) ?<([^<>]*)>', raw)
            want = clean_name(f[name] or b'')
            got = decode_phrase(m.group(1)) if m else None
            if got != want:
                self.fail(case, '%s name %r, want %r' % (
                    hdr, (got or '')[:60], want[:60]))
        parts = list(msg.iter_parts())
        want = [clean_body(f['text'])]
        if f['html'] is not None:
            want.append(clean_body(f['html']))
        got = [p.get_content() for p in parts]
        cte = [p['Content-Transfer-Encoding'] for p in parts]
        want_cte = ['7bit' if is_7bit(f[k]) else 'base64'
                    for k in ('text', 'html') if f[k] is not None]
        if cte != want_cte:
            self.fail(case, 'encodings %r, want %r' % (cte, want_cte))
        if got != want:
            self.fail(case, 'body %r != %r' % (
                [g[:60] for g in got], [w[:60] for w in want]))

    def check_session(self, case, raw):
        cmds, data, err = self.split_session(raw)
        if err:
            self.fail(case, err)
            return
        self.check_commands(case, cmds)
        # libcurl dot-stuffs, exactly once: every body line that starts
        # with '.' in a 7bit part shows up as '..' on the wire.
        stuffed = sum(1 for ln in data if ln.startswith(b'.'))
        if not all(ln.startswith(b'..') for ln in data
                   if ln.startswith(b'.')):
            self.fail(case, 'a data line starts with a single dot')
        want = sum(dot_lines(case.f[k]) for k in ('text', 'html'))
        if stuffed != want:
            self.fail(case, '%d dot-stuffed lines, want %d' % (stuffed, want))
        self.stuffed_lines += stuffed
        unstuffed = [ln[1:] if ln.startswith(b'.') else ln for ln in data]
        msg = email.parser.BytesParser(policy=email.policy.default) \
            .parsebytes(b'\r\n'.join(unstuffed) + b'\r\n')
        if msg.defects:
            self.fail(case, 'defects %r' % msg.defects)
        self.check_headers(case, msg, data)
        head = b'\r\n'.join(unstuffed).split(b'\r\n\r\n', 1)[0]
        raw_headers = {}
        for m in re.finditer(rb'^([A-Za-z-]+):((?:[^\r\n]|\r\n )*)', head, re.M):
            raw_headers[m.group(1).decode().lower()] = m.group(2).decode()
        self.check_content(case, msg, raw_headers)


def key_of(raw):
    m = re.search(rb'\r\nMessage-ID: <(case-\d+)@crmd>\r\n', raw)
    return m.group(1) if m else None


def main():
    sender = sys.argv[1]
    cases = corpus()
    by_key = {c.key: c for c in cases}
    with tempfile.TemporaryDirectory() as tmp:
        rec = os.path.join(tmp, 'sessions')
        os.mkdir(rec)
        port = free_port()
        server = CaptureServer(rec, port)
        server.start()
        try:
            write_cases(os.path.join(tmp, 'cases'), cases)
            subprocess.run([sender, 'smtp://127.0.0.1:%d/crmd.test' % port,
                            os.path.join(tmp, 'cases'),
                            os.path.join(tmp, 'results')],
                           check=True, timeout=100)
        finally:
            server.stop()
        with open(os.path.join(tmp, 'results'), 'rb') as fp:
            results = [ln.rstrip(b'\n').split(b'\t') for ln in fp]
        sessions = server.sessions()

    ck = Checker()
    sent = set()
    for r in results:
        c = by_key[r[0]]
        outcome = r[1].decode()
        if outcome != c.expect:
            ck.fail(c, 'outcome %s %r, want %s' % (outcome, r[2:], c.expect))
        elif outcome == 'sent':
            sent.add(c.key)
        elif not (r[2].decode().startswith(c.reason) and
                  c.detail in r[2].decode()):
            ck.fail(c, 'reason %r, want %r ... %r' % (r[2], c.reason,
                                                      c.detail))
    if len(results) != len(cases):
        ck.fail(None, '%d results for %d cases' % (len(results), len(cases)))
    seen = set()
    for raw in sessions:
        key = key_of(raw)
        if key not in sent or key in seen:
            ck.fail(by_key.get(key), 'unexpected session %r' % raw[:200])
            ck.extra_commands += 1
            continue
        seen.add(key)
        try:
            ck.check_session(by_key[key], raw)
        except Exception as e:  # a message Python cannot even read
            ck.fail(by_key[key], 'unparsable: %r' % e)
    for k in sent - seen:
        ck.fail(by_key[k], 'reported sent but no session recorded')

    refused = sum(1 for c in cases if c.expect == 'refused')
    print('%d payloads (%d refused addresses, %d delivered), '
          '%d extra commands, %d extra headers, %d dot-stuffed lines' % (
              len(cases), refused, len(seen), ck.extra_commands,
              ck.extra_headers, ck.stuffed_lines))
    for f in ck.failures[:40]:
        print('FAIL', f[:300])
    if ck.failures:
        print('%d failures' % len(ck.failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
