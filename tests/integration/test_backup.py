"""Backups that fit containers (issue 16): real tesserad processes.

- Scheduled backups appear in backup_dir at backup_interval, atomically
  renamed, pruned to backup_keep (other files left alone), and restore
  with `tessera restore` into a store that has the users, sessions and
  certificates; /metrics says when the newest was made.
- An unusable backup_dir logs one line per failure naming the directory
  and the system's reason, counts it in /metrics, and tesserad keeps
  serving; it recovers once the directory is there.
- POST /v1/admin/backup and `tessera backup --online`: backups:create,
  the file name in the answer, a backup.create audit event; 409 without
  backup_dir.
- The trial's "store error": a tesserad that is PID 1 in its own PID
  namespace (unshare, as in a container) and an offline command that is
  PID 1 in another.  The offline commands and a second tesserad refuse
  with a message saying what to do; in tesserad's namespace (docker exec)
  the offline backup works."""

import copy
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness

NAME = re.compile(r"^tessera-backup-\d{8}T\d{6}\.\d{3}Z\.mdb$")
EXIT_IN_USE = 86
NS = ["unshare", "--pid", "--fork", "--mount-proc"]


LAST = "tessera_backup_last_success_timestamp_seconds"
FAILS = "tessera_backup_failures_total"


def backups(d):
    return sorted(n for n in os.listdir(d) if NAME.match(n))


def started(**env):
    """A started instance with env on top of the harness's."""
    i = harness.Instance()
    i.metrics_token()
    i.env.update(env)
    try:
        i.start()
    except BaseException:
        i.close()
        raise
    return i


def sibling(inst, data, wrap=(), **env):
    """inst's configuration and keys on data, with env, under wrap (not
    started): its own log and audit log, in a directory of inst's."""
    d = copy.copy(inst)
    d.dir = tempfile.mkdtemp(prefix="sibling.", dir=inst.dir)
    d.data, d.wrap, d.proc = data, list(wrap), None
    d.env = dict(inst.env, TESSERA_DATA_DIR=data,
                 TESSERA_AUDIT_LOG=os.path.join(d.dir, "audit.log"), **env)
    conf = os.path.join(data, "tesserad.conf")
    if not os.path.exists(conf):
        shutil.copy(os.path.join(inst.data, "tesserad.conf"), conf)
    return d


def inner_pid(d):
    """The host pid of a tesserad its wrapper (unshare --fork) forked."""
    with open("/proc/%d/task/%d/children" % (d.proc.pid, d.proc.pid)) as f:
        return int(f.read().split()[0])


class Scheduled(unittest.TestCase):
    KEEP = 2

    @classmethod
    def setUpClass(cls):
        cls.bdir = tempfile.mkdtemp(prefix="tessera-backups.")
        # Not ours: never pruned.
        for other in ("notes.txt", "tessera-backup-old.mdb"):
            with open(os.path.join(cls.bdir, other), "w") as f:
                f.write("keep me\n")
        cls.i = i = started(TESSERA_BACKUP_DIR=cls.bdir,
                            TESSERA_BACKUP_INTERVAL="1s",
                            TESSERA_BACKUP_KEEP=str(cls.KEEP))
        try:
            _, cls.admin = i.admin()
            _, tok, pub = i.issuer(cls.admin, "erin", "app")
            cls.cert = i.ok("POST", "/v1/certs", {"public_key": pub,
                                                   "target": "prod/api"},
                            token=tok, want=201)
        except BaseException:
            i.close()
            raise
        cls.t0 = time.time()

    @classmethod
    def tearDownClass(cls):
        cls.i.close()
        shutil.rmtree(cls.bdir)

    def test_backups_at_the_interval_pruned_to_keep(self):
        seen = set()

        def many():
            seen.update(backups(self.bdir))
            return len(seen) >= 4
        harness.wait_for(many, "4 scheduled backups", timeout=30)
        # Pruned to KEEP: between a rename and its prune there is one more.
        harness.wait_for(lambda: len(backups(self.bdir)) == self.KEEP,
                         "%d backups left" % self.KEEP)
        left = os.listdir(self.bdir)
        self.assertIn("notes.txt", left)
        self.assertIn("tessera-backup-old.mdb", left)
        for n in backups(self.bdir):
            st = os.stat(os.path.join(self.bdir, n))
            self.assertEqual(st.st_mode & 0o777, 0o600, n)
        self.assertGreater(self.i.metric(LAST),
                           self.t0 - 5)
        self.assertEqual(self.i.metric(FAILS), 0)
        with open(os.path.join(self.i.dir, "tesserad.log")) as f:
            self.assertIn("every 1 s, keeping 2", f.read())

    def test_a_backup_restores_with_users_sessions_and_certificates(self):
        copy_of = os.path.join(self.i.dir, "copy.mdb")

        def fresh():
            """Copy the newest backup made after the set-up; pruning
            (every second, keeping 2) may take one between the listing
            and the copy, and then the next round is tried."""
            try:
                new = [n for n in backups(self.bdir)
                       if os.stat(os.path.join(self.bdir, n)).st_mtime >
                       self.t0 + 1.5]
                if new:
                    shutil.copy(os.path.join(self.bdir, new[-1]), copy_of)
                    return True
            except FileNotFoundError:
                pass
            return False
        harness.wait_for(fresh, "a backup after the set-up")
        target = os.path.join(self.i.dir, "restored")
        p = self.i.tessera("restore", "--data", target, copy_of)
        self.assertIn("Restored", p.stdout)
        os.mkdir(os.path.join(self.i.dir, "backups-restored"))
        d = sibling(self.i, target, TESSERA_BACKUP_DIR=os.path.join(
            self.i.dir, "backups-restored"))
        d.start()
        try:
            users = d.ok("GET", "/v1/users", token=self.admin)
            self.assertIn("erin", [u["username"] for u in users["users"]])
            certs = d.ok("GET", "/v1/certs?user=erin", token=self.admin)
            self.assertIn(self.cert["serial"],
                          [c["serial"] for c in certs["certificates"]])
        finally:
            self.assertEqual(d.stop(), 0, d.tail())
            d.close()


class Failing(unittest.TestCase):
    """backup_dir is a file, not a directory."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tessera-backups.")
        cls.bdir = os.path.join(cls.tmp, "not-a-dir")
        with open(cls.bdir, "w") as f:
            f.write("x")
        cls.i = started(TESSERA_BACKUP_DIR=cls.bdir,
                        TESSERA_BACKUP_INTERVAL="1s")

    @classmethod
    def tearDownClass(cls):
        cls.i.close()
        shutil.rmtree(cls.tmp)

    def log(self):
        with open(os.path.join(self.i.dir, "tesserad.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def test_failures_are_logged_counted_and_tesserad_serves(self):
        harness.wait_for(lambda: self.i.metric(FAILS) >= 2,
                         "two failures counted")
        n = self.i.metric(FAILS)
        lines = [ln for ln in self.log().splitlines()
                 if "backup into " + self.bdir + " failed" in ln]
        # One line per failure (the count is made after the line).
        self.assertGreaterEqual(len(lines), n)
        self.assertLessEqual(len(lines), n + 1)
        self.assertIn("Not a directory", lines[0])
        self.assertEqual(self.i.metric(LAST), 0)
        # Still serving: an admin, a certificate.
        _, admin = self.i.admin()
        _, tok, pub = self.i.issuer(admin, "erin", "app")
        self.i.ok("POST", "/v1/certs", {"public_key": pub}, token=tok,
                  want=201)
        st, _, body = self.i.call("POST", "/v1/admin/backup", token=admin)
        self.assertEqual(st, 503, body)
        self.assertIn(self.bdir, body["error"]["message"])
        self.assertIn("Not a directory", body["error"]["message"])
        # The directory appears: the next attempt succeeds.
        os.unlink(self.bdir)
        os.mkdir(self.bdir)
        harness.wait_for(lambda: backups(self.bdir), "a backup")
        harness.wait_for(lambda: self.i.metric(LAST) > 0,
            "last success in /metrics")


class Online(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.bdir = tempfile.mkdtemp(prefix="tessera-backups.")
        cls.i = i = started(TESSERA_BACKUP_DIR=cls.bdir,
                            TESSERA_BACKUP_INTERVAL="1d",
                            TESSERA_BACKUP_KEEP="10")
        try:
            cls.acct, cls.admin = i.admin()
        except BaseException:
            i.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.i.close()
        shutil.rmtree(cls.bdir)

    def test_endpoint_writes_names_and_audits(self):
        r = self.i.ok("POST", "/v1/admin/backup", token=self.admin,
                      want=201)
        self.assertRegex(r["file"], NAME)
        self.assertEqual(r["dir"], self.bdir)
        path = os.path.join(self.bdir, r["file"])
        self.assertEqual(os.path.getsize(path), r["bytes"])
        events = harness.all_events(self.i, self.admin)
        ev = [e for e in events if e["action"] == "backup.create"]
        self.assertEqual(ev[-1]["object"], r["file"])
        self.assertEqual(ev[-1]["actor"], "admin")
        self.assertEqual(ev[-1]["result"], "ok")
        # It restores (and verifies).
        target = os.path.join(self.i.dir, "restored-online")
        self.i.tessera("restore", "--data", target, path)
        v = self.i.tessera("audit", "verify", "--data", target)
        self.assertIn("intact", v.stdout)

    def test_needs_backups_create(self):
        r = self.i.ok("POST", "/v1/users", {"username": "bob",
                                             "groups": []},
                      token=self.admin, want=201)
        bob = self.i.enroll(r["enroll_token"], "bob", "bob's password 1")
        before = backups(self.bdir)
        st, _, body = self.i.call("POST", "/v1/admin/backup",
                                  token=self.i.login(bob))
        self.assertEqual(st, 403, body)
        self.assertEqual(backups(self.bdir), before)
        # A role with backups:create is enough.
        self.i.ok("PUT", "/v1/roles/backup",
                  {"rules": [{"targets": ["none/x"], "logins": ["nobody"]}],
                   "admin": ["backups:create"]}, token=self.admin)
        self.i.ok("POST", "/v1/bindings", {"role": "backup",
                                            "subject": "user:bob"},
                  token=self.admin, want=201)
        self.i.ok("POST", "/v1/admin/backup", token=self.i.login(bob),
                  want=201)

    def test_cli_backup_online(self):
        r = self.i.ok("POST", "/v1/login", {
            "username": "admin", "password": self.acct.password,
            "code": self.acct.next_code()})
        p = subprocess.run(
            [harness.TESSERA, "--ca-file",
             os.path.join(self.i.data, "tls.crt"), "backup", "--online"],
            capture_output=True, text=True, env=self.i.cli_env(r))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = re.search(r"Backup written by tesserad: (\S+) \((\d+) bytes\)",
                      p.stdout)
        self.assertTrue(m, p.stdout)
        self.assertTrue(os.path.exists(m.group(1)), m.group(1))
        # --online with --data or a FILE is a usage error.
        p = self.i.tessera("backup", "--online", "x.mdb", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_409_without_backup_dir(self):
        other = started()
        try:
            _, tok = other.admin()
            st, _, body = other.call("POST", "/v1/admin/backup", token=tok)
            self.assertEqual(st, 409, body)
            self.assertIn("backup_dir is not set",
                          body["error"]["message"])
        finally:
            other.close()


@unittest.skipUnless(subprocess.run(NS + ["true"],
                                    capture_output=True).returncode == 0,
                     "needs unshare --pid (root)")
class InUse(unittest.TestCase):
    """tesserad as PID 1 of its own PID namespace, as in a container."""

    @classmethod
    def setUpClass(cls):
        cls.i = i = harness.Instance()
        i.wrap = NS + ["--kill-child"]
        try:
            i.start()
        except BaseException:
            i.close()
            raise

    @classmethod
    def tearDownClass(cls):
        # SIGTERM to tesserad itself: unshare ignores it.
        os.kill(inner_pid(cls.i), signal.SIGTERM)
        cls.i.proc.wait(timeout=15)
        cls.i.proc = None
        cls.i.log.close()
        cls.i.close()

    def offline(self, *args, wrap=NS):
        return subprocess.run(list(wrap) + [harness.TESSERA] + list(args),
                              capture_output=True, text=True)

    def refused(self, p, cmd):
        self.assertEqual(p.returncode, EXIT_IN_USE, p.stdout + p.stderr)
        self.assertIn("is in use by a running tesserad", p.stderr)
        self.assertIn("tessera backup --online", p.stderr)
        self.assertIn("docker exec <container> tessera " + cmd, p.stderr)
        self.assertNotIn("store error", p.stderr)

    def test_offline_commands_from_another_namespace_refuse(self):
        bak = os.path.join(self.i.dir, "other-ns.mdb")
        self.refused(self.offline("backup", "--data", self.i.data, bak),
                     "backup")
        self.assertFalse(os.path.exists(bak))
        # The host's namespace is another one too.
        self.refused(self.offline("backup", "--data", self.i.data, bak,
                                  wrap=()), "backup")
        self.refused(self.offline("audit", "verify", "--data", self.i.data),
                     "audit verify")
        self.assertTrue(self.i.healthy())

    def test_restore_into_a_live_data_dir_refuses(self):
        p = self.offline("restore", "--data", self.i.data, "/nonexistent")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("in use by a running tesserad", p.stderr)

    def test_in_tesserads_namespace_the_offline_backup_works(self):
        bak = os.path.join(self.i.dir, "same-ns.mdb")
        p = self.offline("backup", "--data", self.i.data, bak,
                         wrap=("nsenter", "-t", str(inner_pid(self.i)),
                               "-p", "-m"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(os.path.getsize(bak), 0)
        self.assertTrue(self.i.healthy())

    def test_a_second_tesserad_refuses(self):
        d = sibling(self.i, self.i.data)
        with self.assertRaises(AssertionError) as cm:
            d.start()
        d.log.close()
        self.assertIn("exited %d" % EXIT_IN_USE, str(cm.exception))
        self.assertIn("in use by a tesserad or tessera command in another "
                      "PID namespace", str(cm.exception))
        self.assertTrue(self.i.healthy())


if __name__ == "__main__":
    unittest.main(verbosity=2)
