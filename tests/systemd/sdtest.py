#!/usr/bin/python3
"""
Checks of crmd's systemd integration, run against a real DESTDIR install.

  sdtest.py install  ...  cmake --install into DESTDIR; layout, modes, and
                          that the unit names the files actually installed
  sdtest.py verify   ...  `systemd-analyze verify` prints nothing
  sdtest.py security ...  `systemd-analyze security --offline` <= 2.0
  sdtest.py contract ...  the unit keeps what crmd's interface needs
  sdtest.py accounts ...  sysusers.d and tmpfiles.d applied to a scratch root

Every subcommand takes the same options (paths from CMake); `install`
must have run first (a ctest fixture arranges that).
"""
import argparse
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

SKIP = 77
MAX_EXPOSURE = 2.0
ENV = dict(os.environ, SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0",
           LC_ALL="C.UTF-8")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(argv, env=ENV):
    return subprocess.run(argv, env=env, text=True, capture_output=True)


def inroot(root, path):
    """path (absolute, as on the installed system) inside root."""
    return os.path.join(root, path.lstrip("/"))


def unit_path(a):
    return inroot(a.destdir, os.path.join(a.unitdir, "crmd.service"))


def parse_unit(path):
    """{key: [values in order]} over all sections; enough for checks."""
    keys = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;[":
                continue
            k, _, v = line.partition("=")
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def require_install(a):
    if not os.path.isfile(unit_path(a)):
        fail("%s missing: run the systemd.install test first"
             % unit_path(a))


# --- install ---------------------------------------------------------------

def do_install(a):
    shutil.rmtree(a.destdir, ignore_errors=True)
    os.makedirs(a.destdir)
    r = run([a.cmake, "--install", a.build, "--prefix", a.prefix],
            env=dict(ENV, DESTDIR=a.destdir))
    check(r.returncode == 0, "cmake --install failed (are crmd and crmctl "
          "built?):\n" + r.stdout + r.stderr)
    return r.stdout


def check_confined(a, out):
    """
    Everything cmake says it installed lies inside DESTDIR, and DESTDIR
    holds exactly the files of the manifest (which lists them as on the
    target system, without DESTDIR).
    """
    prefix = os.path.join(a.destdir, "")
    said = re.findall(r"^-- (?:Installing|Up-to-date|Set runtime path of)"
                      r": \"?(.+?)\"?$", out, re.M)
    check(said, "no '-- Installing:' lines in:\n" + out)
    for p in said:
        check(p.startswith(prefix), "installed outside DESTDIR: " + p)
    with open(os.path.join(a.build, "install_manifest.txt")) as f:
        manifest = set(inroot(a.destdir, p) for p in f.read().split())
    found = set()
    for d, _, files in os.walk(a.destdir):
        found.update(os.path.join(d, f) for f in files)
    check(found == manifest, "files in DESTDIR and the manifest differ: "
          "extra %s, missing %s" % (sorted(found - manifest),
                                     sorted(manifest - found)))


def check_layout(a):
    def exists(path, mode=None, exe=False):
        p = inroot(a.destdir, path)
        if not os.path.exists(p):
            elsewhere = [os.path.join(d, f)[len(a.destdir):]
                         for d, dirs, files in os.walk(a.destdir)
                         for f in files + dirs
                         if f == os.path.basename(path)]
            fail("not installed: %s (found instead: %s)"
                 % (path, ", ".join(elsewhere) or "nothing"))
        st = os.stat(p)
        if exe:
            check(st.st_mode & stat.S_IXUSR, path + " is not executable")
        if mode is not None:
            check(stat.S_IMODE(st.st_mode) == mode, "%s has mode %o, want %o"
                  % (path, stat.S_IMODE(st.st_mode), mode))

    exists(os.path.join(a.sbindir, "crmd"), exe=True)
    exists(os.path.join(a.bindir, "crmctl"), exe=True)
    exists(os.path.join(a.sysconfdir, "crmd.conf"))
    exists(os.path.join(a.sysconfdir, "crmctl.ini"))
    exists(os.path.join(a.sysconfdir, "credentials"), mode=0o700)
    exists(os.path.join(a.unitdir, "crmd.service"), mode=0o644)
    exists(os.path.join(a.sysusersdir, "crmd.conf"), mode=0o644)
    exists(os.path.join(a.tmpfilesdir, "crmd.conf"), mode=0o644)
    docs = ["README.md"] + [os.path.basename(p) for p in
                            glob.glob(os.path.join(a.source, "docs", "*.md"))]
    for d in ["README.md", "install.md", "configuration.md", "schema.md"]:
        check(d in docs, "source tree lacks " + d)
    for d in docs:
        exists(os.path.join(a.docdir, d))
    if a.prefix == "/usr":
        # The Debian layout, spelled out rather than derived.
        for p in ["usr/sbin/crmd", "usr/bin/crmctl", "etc/crmd/crmd.conf",
                  "etc/crmd/crmctl.ini", "usr/share/doc/crmd/README.md",
                  "usr/lib/sysusers.d/crmd.conf",
                  "usr/lib/tmpfiles.d/crmd.conf"]:
            check(os.path.exists(inroot(a.destdir, p)), "not installed: "
                  + p)
        check(any(os.path.exists(inroot(a.destdir, u)) for u in
                  ["lib/systemd/system/crmd.service",
                   "usr/lib/systemd/system/crmd.service"]),
              "crmd.service not in (usr/)lib/systemd/system")


def check_unit_paths(a):
    """The unit runs the binary and config file that were installed."""
    keys = parse_unit(unit_path(a))
    argv = keys["ExecStart"][0].split()
    check(argv[0] == os.path.join(a.sbindir, "crmd"), "ExecStart runs %s, "
          "crmd was installed as %s" % (argv[0],
                                        os.path.join(a.sbindir, "crmd")))
    conf = argv[argv.index("-f") + 1]
    check(os.path.isfile(inroot(a.destdir, conf)), "ExecStart reads %s, "
          "which the install did not create" % conf)
    cred = keys["LoadCredential"][0].partition(":")[2]
    check(os.path.isdir(inroot(a.destdir, cred)), "LoadCredential= "
          "directory %s is not installed" % cred)


def cmd_install(a):
    out = do_install(a)
    check_confined(a, out)
    check_layout(a)
    check_unit_paths(a)


# --- verify ----------------------------------------------------------------

def verify_root(a, tmp):
    """
    DESTDIR plus the host's targets: verify resolves ExecStart= inside
    --root, and it needs the targets crmd.service is ordered against.
    """
    root = os.path.join(tmp, "root")
    shutil.copytree(a.destdir, root, symlinks=True)
    etc = os.path.join(root, "etc/systemd/system")
    os.makedirs(etc, exist_ok=True)
    for t in glob.glob("/usr/lib/systemd/system/*.target"):
        shutil.copy(t, etc)
    return root


def analyze_verify(root, unit):
    r = run(["systemd-analyze", "verify", "--root=" + root, unit])
    return r.returncode, r.stdout + r.stderr


def cmd_verify(a):
    require_install(a)
    unit = os.path.join(a.unitdir, "crmd.service")
    with tempfile.TemporaryDirectory() as tmp:
        root = verify_root(a, tmp)
        rc, out = analyze_verify(root, unit)
        check(rc == 0 and out == "", "systemd-analyze verify (exit %d) "
              "said:\n%s" % (rc, out))
        # verify exits 0 on typos, so this test relies on its output;
        # make sure it does look at this unit's ExecStart= in the root.
        os.chmod(inroot(root, os.path.join(a.sbindir, "crmd")), 0o644)
        rc, out = analyze_verify(root, unit)
        check("is not executable" in out, "verify did not notice a "
              "non-executable crmd; the check above proves nothing:\n" + out)


# --- security ----------------------------------------------------------------

def cmd_security(a):
    require_install(a)
    r = run(["systemd-analyze", "security", "--offline=yes", unit_path(a)])
    out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for crmd\.service: ([0-9.]+)",
                  out)
    check(m, "no overall exposure level in:\n" + out)
    score = float(m.group(1))
    check(score <= MAX_EXPOSURE, "exposure %.1f > %.1f:\n%s"
          % (score, MAX_EXPOSURE, out))
    print("exposure %.1f" % score)


# --- contract ----------------------------------------------------------------

def cmd_contract(a):
    """Hardening must not break what crmd relies on (see docs/install.md)."""
    require_install(a)
    k = parse_unit(unit_path(a))
    one = lambda key: (k.get(key) or [None])[-1]
    check(one("Type") == "notify", "crmd speaks sd_notify: Type=notify")
    check(one("NotifyAccess") == "main", "NotifyAccess=main")
    check(one("WatchdogSec"), "crmd pings the watchdog: set WatchdogSec=")
    argv = one("ExecStart").split()
    check("-F" in argv and "-d" not in argv, "ExecStart needs -F (no fork, "
          "no debug): " + " ".join(argv))
    check(one("User") == "crmd" and one("Group") == "crmd", "User/Group")
    check(one("StateDirectory") == "crmd", "StateDirectory=crmd")
    check(one("RuntimeDirectory") == "crmd", "RuntimeDirectory=crmd")
    # The CRM application writes the database through group crmd.
    check(int(one("StateDirectoryMode"), 8) & 0o070 == 0o070,
          "StateDirectoryMode must let group crmd write")
    check(int(one("UMask"), 8) & 0o070 == 0, "UMask must keep files "
          "group-writable for the CRM application")
    # crmctl users must reach the socket.
    check(int(one("RuntimeDirectoryMode"), 8) & 0o005 == 0o005,
          "RuntimeDirectoryMode must let crmctl users traverse /run/crmd")
    # SO_PEERCRED through a user namespace shows callers as nobody.
    check(one("PrivateUsers") in (None, "no", "false"), "PrivateUsers= "
          "breaks SO_PEERCRED authorisation")
    # SMTP and HTTPS go out; the socket is AF_UNIX.
    check(one("PrivateNetwork") in (None, "no", "false"), "no "
          "PrivateNetwork=: crmd sends mail and webhooks")
    check(not k.get("IPAddressDeny"), "no IPAddressDeny=: SMTP/HTTPS "
          "servers are anywhere")
    fams = " ".join(k.get("RestrictAddressFamilies", [])).split()
    for fam in ["AF_UNIX", "AF_INET", "AF_INET6"]:
        check(fam in fams, "RestrictAddressFamilies= lacks " + fam)
    # The socket is chown'd to socket_group.
    filt = k.get("SystemCallFilter", [])
    check("@chown" in filt, "SystemCallFilter= must allow @chown "
          "after ~@privileged: crmd gives its socket to socket_group")
    check(any(c.startswith("crmd:") for c in k.get("LoadCredential", [])),
          "LoadCredential=crmd:DIR provides the secrets")
    # tmpfiles.d must agree with the unit on the directory modes.
    tmpf = inroot(a.destdir, os.path.join(a.tmpfilesdir, "crmd.conf"))
    modes = {}
    with open(tmpf) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "d":
                modes[w[1]] = int(w[2], 8)
    check(modes.get("/var/lib/crmd") == int(one("StateDirectoryMode"), 8),
          "tmpfiles.d and StateDirectoryMode= disagree")
    check(modes.get("/run/crmd") == int(one("RuntimeDirectoryMode"), 8),
          "tmpfiles.d and RuntimeDirectoryMode= disagree")
    cred = one("LoadCredential").partition(":")[2]
    check(modes.get(cred) == 0o700, "tmpfiles.d must create %s 0700" % cred)


# --- accounts ----------------------------------------------------------------

def cmd_accounts(a):
    require_install(a)
    if os.geteuid() != 0:
        print("skipped: systemd-tmpfiles needs root to chown")
        sys.exit(SKIP)
    sysusers = inroot(a.destdir, os.path.join(a.sysusersdir, "crmd.conf"))
    tmpfiles = inroot(a.destdir, os.path.join(a.tmpfilesdir, "crmd.conf"))
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "etc"))
        r = run(["systemd-sysusers", "--root=" + root, sysusers])
        check(r.returncode == 0, "systemd-sysusers: " + r.stdout + r.stderr)
        with open(os.path.join(root, "etc/passwd")) as f:
            pw = [l.rstrip("\n").split(":") for l in f]
        with open(os.path.join(root, "etc/group")) as f:
            gr = {l.split(":")[0]: int(l.split(":")[2]) for l in f}
        users = {p[0]: p for p in pw}
        check("crmd" in users and "crmd" in gr, "no user/group crmd made")
        u = users["crmd"]
        check(int(u[2]) < 1000, "crmd must be a system user, uid " + u[2])
        check(int(u[3]) == gr["crmd"], "crmd's primary group is not crmd")
        check(u[5] == "/var/lib/crmd", "home is " + u[5])
        check(u[6].endswith("/nologin"), "shell is " + u[6])

        r = run(["systemd-tmpfiles", "--root=" + root, "--create", tmpfiles])
        check(r.returncode == 0 and r.stdout + r.stderr == "",
              "systemd-tmpfiles: " + r.stdout + r.stderr)
        want = {"var/lib/crmd": (0o2770, int(u[2]), gr["crmd"]),
                "run/crmd": (0o755, int(u[2]), gr["crmd"]),
                os.path.join(a.sysconfdir, "credentials").lstrip("/"):
                (0o700, 0, 0)}
        for p, (mode, uid, gid) in want.items():
            st = os.stat(os.path.join(root, p))
            got = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            check(got == (mode, uid, gid), "%s is %o %d:%d, want %o %d:%d"
                  % ((p,) + got + (mode, uid, gid)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["install", "verify", "security",
                                       "contract", "accounts"])
    for opt in ["cmake", "build", "source", "destdir", "prefix", "sbindir",
                "bindir", "sysconfdir", "docdir", "unitdir", "sysusersdir",
                "tmpfilesdir"]:
        p.add_argument("--" + opt, required=True)
    a = p.parse_args()
    globals()["cmd_" + a.command](a)


if __name__ == "__main__":
    main()
