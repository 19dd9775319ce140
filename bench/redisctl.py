"""Starts, saves and stops the benchmark's private Redis: a Unix socket in
the run's temp directory, no TCP port, no persistence unless asked (SAVE
before a restart, to time a start with the pending jobs in memory).

  redisctl.py start DIR     prints {"pid", "startup_ms", "rss_kib"}
  redisctl.py save DIR      writes DIR/dump.rdb
  redisctl.py stop DIR      SHUTDOWN NOSAVE, then SIGKILL if needed

startup_ms runs from exec to the first PONG (Redis answers LOADING
until its dataset is in memory)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

REDIS = "/usr/bin/redis-server"


def paths(d):
    return (os.path.join(d, "redis.sock"), os.path.join(d, "redis.pid"))


def command(sock_path, *words, timeout=5.0):
    """One RESP command; returns the first reply line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        req = b"*%d\r\n" % len(words)
        for w in words:
            w = w.encode()
            req += b"$%d\r\n%s\r\n" % (len(w), w)
        s.sendall(req)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode(errors="replace")
    finally:
        s.close()


def start(d):
    sock, pidf = paths(d)
    args = [REDIS, "--port", "0", "--bind", "127.0.0.1",
            "--unixsocket", sock, "--unixsocketperm", "700",
            "--dir", d, "--dbfilename", "dump.rdb", "--save", "",
            "--appendonly", "no", "--daemonize", "yes",
            "--pidfile", pidf, "--logfile", os.path.join(d, "redis.log"),
            "--maxmemory-policy", "noeviction"]
    t0 = time.monotonic()
    subprocess.run(args, check=True)
    deadline = t0 + 300
    while time.monotonic() < deadline:
        try:
            if command(sock, "PING") == "+PONG":
                break
        except OSError:
            pass
        time.sleep(0.001)
    else:
        sys.exit("redisctl: redis did not answer in 300 s")
    ms = (time.monotonic() - t0) * 1000
    with open(pidf) as f:
        pid = int(f.read())
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    print(json.dumps({"pid": pid, "startup_ms": ms, "rss_kib": rss}))


def save(d):
    sock, _ = paths(d)
    r = command(sock, "SAVE", timeout=600)
    if r != "+OK":
        sys.exit("redisctl: SAVE: " + r)


def stop(d):
    sock, pidf = paths(d)
    try:
        with open(pidf) as f:
            pid = int(f.read())
    except (OSError, ValueError):
        return
    try:
        command(sock, "SHUTDOWN", "NOSAVE")
    except OSError:
        pass
    for _ in range(500):                # 5 s
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
    try:
        os.unlink(pidf)
    except OSError:
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "save", "stop"):
        sys.exit("usage: redisctl.py start|save|stop DIR")
    {"start": start, "save": save, "stop": stop}[sys.argv[1]](sys.argv[2])
