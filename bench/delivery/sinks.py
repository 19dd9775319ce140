"""The sinks of the delivery benchmark, on loopback (bench/delivery/run
drives it).

  sinks.py start DIR   starts Postfix's smtp-sink and an nginx that
                       answers 200 to every POST, in clear and over TLS
                       with a self-signed certificate made here; writes
                       their ports and pids to DIR/sinks.json
  sinks.py stop DIR    stops them (only the processes it started)

Both are real servers, the ones the issue names: smtp-sink is Postfix's
own test sink (it accepts and discards), nginx the usual HTTP peer.  Both
keep connections open for as long as a client wants: nginx is told to
allow a million requests per connection, not its default thousand."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

NGINX_CONF = """\
worker_processes 2;
pid {dir}/nginx.pid;
daemon off;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_buffer_size 64k;
    server {{
        listen 127.0.0.1:{http};
        listen 127.0.0.1:{https} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:tls:1m;
        location / {{
            default_type application/json;
            return 200 '{{"ok":true}}';
        }}
    }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, log):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("%s exited at start (see %s)" % (what, log))
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("%s does not listen on port %d (see %s)" % (what, port, log))


def spawn(argv, log):
    with open(log, "ab") as f:
        return subprocess.Popen(argv, stdout=f, stderr=f,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True)


def smtp_sink(d):
    port = free_port()
    log = os.path.join(d, "smtp-sink.log")
    argv = ["/usr/sbin/smtp-sink"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]    # it refuses to run as root otherwise
    # 8BITMIME on, SASL and XCLIENT off: a plain relay's greeting.
    argv += ["-a", "-C", "127.0.0.1:%d" % port, "256"]
    p = spawn(argv, log)
    wait_port(port, p, "smtp-sink", log)
    return {"port": port, "pid": p.pid}


def nginx(d):
    nd = os.path.join(d, "nginx")
    os.makedirs(nd, exist_ok=True)
    cert, key = os.path.join(nd, "cert.pem"), os.path.join(nd, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    http, https = free_port(), free_port()
    conf = os.path.join(nd, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=nd, http=http, https=https))
    log = os.path.join(nd, "error.log")
    p = spawn(["/usr/sbin/nginx", "-p", nd, "-c", conf, "-e", log], log)
    wait_port(http, p, "nginx", log)
    wait_port(https, p, "nginx", log)
    return {"http": http, "https": https, "pid": p.pid, "cafile": cert,
            "version": subprocess.run(["/usr/sbin/nginx", "-v"],
                                      capture_output=True, text=True)
            .stderr.strip().rpartition("/")[2]}


def start(d):
    os.makedirs(d, exist_ok=True)
    state = {}
    try:
        state["smtp"] = smtp_sink(d)
        state["nginx"] = nginx(d)
    finally:
        with open(os.path.join(d, "sinks.json"), "w") as f:
            json.dump(state, f)
    print(json.dumps(state))


def ours(pid, exe):
    try:
        return os.readlink("/proc/%d/exe" % pid) == exe
    except OSError:
        return False


def stop(d):
    try:
        with open(os.path.join(d, "sinks.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return
    for name, exe in (("smtp", "/usr/sbin/smtp-sink"),
                      ("nginx", "/usr/sbin/nginx")):
        pid = state.get(name, {}).get("pid")
        if pid and ours(pid, exe):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while ours(pid, exe) and time.monotonic() < deadline:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.02)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit("usage: sinks.py start|stop DIR")
    {"start": start, "stop": stop}[sys.argv[1]](sys.argv[2])
