"""Authorisation by peer credentials (SO_PEERCRED, SO_PEERGROUPS): the
socket file's mode grants nothing, and every refusal is audited."""
import json
import os
import unittest

from crmdtest import DaemonTest

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup"]


def nobody_in(*groups):
    if not groups:
        return NOBODY + ["--clear-groups"]
    return NOBODY + ["--groups=" + ",".join(groups)]


AS_ROOT = unittest.skipUnless(os.geteuid() == 0,
                              "setpriv to another user needs root")


@AS_ROOT
class Unprivileged(DaemonTest):
    def refusals(self):
        with self.d.db_connect() as c:
            return c.execute("SELECT actor, action, detail FROM audit_log "
                             "WHERE action = 'control.refused'").fetchall()

    def test_socket_is_0660(self):
        self.d.start()
        self.assertEqual(os.stat(self.d.sock).st_mode & 0o777, 0o660)

    def test_stranger_cannot_connect_through_file_mode(self):
        self.d.start()
        r = self.d.ctl("status", user=nobody_in())
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot connect", r.stderr)

    def test_stranger_refused_even_with_socket_0666(self):
        self.d.start()
        os.chmod(self.d.sock, 0o666)
        for cmd in ("status", "ping", "reload"):
            r = self.d.ctl(cmd, user=nobody_in())
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("not authorised", r.stderr)
            self.assertEqual(r.stdout, "")
        rows = self.refusals()
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(a == "uid:65534" for a, _, _ in rows))
        self.assertIn("cmd=reload", rows[2][2])


@AS_ROOT
class ReadGroup(DaemonTest):
    extra_conf = 'read_group = "users";\nadmin_group = "adm";\n'

    def test_socket_group_defaults_to_read_group(self):
        self.d.start()
        import grp
        self.assertEqual(os.stat(self.d.sock).st_gid,
                         grp.getgrnam("users").gr_gid)

    def test_reader_may_read_but_not_reload(self):
        self.d.start()
        r = self.d.ctl("--json", "status", user=nobody_in("users"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["pid"], self.d.proc.pid)
        r = self.d.ctl("reload", user=nobody_in("users"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs admin", r.stderr)
        with self.d.db_connect() as c:
            n = c.execute("SELECT count(*) FROM audit_log WHERE action = "
                          "'control.refused' AND detail LIKE "
                          "'cmd=reload%'").fetchone()[0]
        self.assertEqual(n, 1)

    def test_admin_group_member_may_reload(self):
        self.d.start()
        r = self.d.ctl("reload", user=nobody_in("users", "adm"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_admin_group_without_socket_access_still_authorised_by_creds(self):
        self.d.start()
        os.chmod(self.d.sock, 0o666)
        r = self.d.ctl("reload", user=nobody_in("adm"))
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
