"""The store trusts nothing it finds on disk (issue 14, section 3): a real
tesserad, the offline commands and a real sshd on one data directory that
holds a revoked certificate, after the data directory has been tampered
with: data.mdb cut to zero or to half, taken away (an unmounted data
directory), a meta page damaged, another master key or CA key, a backup cut
short.  Each is a clear refusal with its own exit status, never a fresh
empty store (whose empty KRL would let the revoked certificate back in),
never SIGBUS, never "out of memory".  A good backup still restores and
starts.

Every test starts from the same pristine copy of the files, taken once
after set-up."""

import os
import pwd
import shutil
import signal
import struct
import subprocess
import unittest

import harness

LOGIN = pwd.getpwuid(os.geteuid()).pw_name
PRISTINE = ("data.mdb", "ca.key", "master.key")

# tesserad(8) and tessera(1), EXIT STATUS
EXIT_NO_STORE, EXIT_EMPTY, EXIT_TRUNCATED, EXIT_CORRUPT = 80, 81, 82, 83
EXIT_KEY_MISMATCH = 85


class StoreTrust(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = i = harness.Instance()
        i.start()
        try:
            cls.setup_revoked(i)
        except BaseException:
            i.close()
            raise
        i.stop()
        cls.saved = os.path.join(i.dir, "pristine")
        os.mkdir(cls.saved)
        for name in PRISTINE:
            shutil.copy2(os.path.join(i.data, name), cls.saved)

    @classmethod
    def setup_revoked(cls, i):
        """erin's certificate, revoked; a real sshd with the KRL refuses
        it."""
        _, admin = i.admin()
        _, tok, pub = i.issuer(admin, "erin", LOGIN)
        cls.key = os.path.join(i.dir, "erin")
        c = i.ok("POST", "/v1/certs", {"public_key": pub,
                                        "target": "prod/api"},
                 token=tok, want=201)
        with open(cls.key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        snippet = i.ok("GET", "/v1/targets/prod/api/sshd",
                       token=admin).decode()
        cls.sshd = harness.Sshd(i.dir, i.ok("GET", "/v1/ca").decode(),
                                snippet, i.ok("GET", "/v1/krl"))
        assert cls.sshd.login(cls.key, LOGIN), cls.sshd.tail()
        i.ok("POST", "/v1/certs/%d/revoke" % c["serial"], token=tok)
        cls.sshd.set_krl(i.ok("GET", "/v1/krl"))
        assert cls.sshd.refused(cls.key, LOGIN), cls.sshd.tail()

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "sshd", None) is not None:
            cls.sshd.stop()
        cls.i.close()

    def setUp(self):
        for name in PRISTINE:
            shutil.copy2(os.path.join(self.saved, name),
                         os.path.join(self.i.data, name))

    # -- helpers --
    def path(self, name):
        return os.path.join(self.i.data, name)

    def attempt(self, env=None):
        """Start tesserad: (exit status, its output) when it refuses to
        start, (None, output) when it came up (it is stopped again,
        after its KRL went to the sshd as an operator's cron would)."""
        i = self.i
        portfile = os.path.join((env or {}).get("TESSERA_DATA_DIR", i.data),
                                "tesserad.port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        logpath = os.path.join(i.dir, "attempt.log")
        with open(logpath, "wb") as log:
            proc = subprocess.Popen(
                [harness.TESSERAD, "--config", self.path("tesserad.conf")],
                env=dict(i.env, **(env or {})), stdout=log, stderr=log)
        try:
            harness.wait_for(lambda: proc.poll() is not None or
                             os.path.exists(portfile), "tesserad to start "
                             "or exit")
            if proc.poll() is None:
                with open(portfile) as f:
                    i.port = int(f.read())
                harness.wait_for(i.healthy, "/healthz")
                self.sshd.set_krl(i.ok("GET", "/v1/krl"))
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)
                rc = None
            else:
                rc = proc.returncode
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(logpath, "rb") as f:
            return rc, f.read().decode(errors="replace")

    def refused(self, want, words, env=None):
        """tesserad exits want, saying words; the revoked certificate
        stays out either way."""
        rc, out = self.attempt(env)
        revoked_out = self.sshd.refused(self.key, LOGIN)
        self.assertIsNotNone(rc, "tesserad started; the revoked certificate "
                             "%s: %s" % ("stayed out" if revoked_out else
                                         "was let in again", out))
        self.assertEqual(rc, want, out)
        for w in words:
            self.assertIn(w, out)
        self.assertTrue(revoked_out)
        return out

    def offline(self, *args):
        p = self.i.tessera(*args, check=False)
        self.assertGreaterEqual(p.returncode, 0,
                                "killed by signal %d: %s" % (-p.returncode,
                                                             p.stderr))
        return p

    def backup(self, name):
        """A fresh backup of the data directory, in the instance's dir."""
        bak = os.path.join(self.i.dir, name)
        if os.path.exists(bak):
            os.unlink(bak)
        p = self.offline("backup", "--data", self.i.data, bak)
        self.assertEqual(p.returncode, 0, p.stderr)
        return bak

    def truncate(self, path, size):
        with open(path, "r+b") as f:
            f.truncate(size)

    # -- the findings --
    def test_zero_length_data_mdb_is_refused_not_a_fresh_store(self):
        self.truncate(self.path("data.mdb"), 0)
        self.refused(EXIT_EMPTY, [self.i.data, "empty"])
        p = self.offline("audit", "verify", "--data", self.i.data)
        self.assertEqual(p.returncode, EXIT_EMPTY, p.stdout + p.stderr)
        self.assertNotIn("intact", p.stdout)
        # Nothing was written: still zero bytes, still no store.
        self.assertEqual(os.path.getsize(self.path("data.mdb")), 0)

    def test_empty_data_directory_is_refused_not_a_fresh_store(self):
        # An unmounted data directory: the mount point is there, empty
        # but for the config and keys.
        os.unlink(self.path("data.mdb"))
        self.refused(EXIT_NO_STORE, [self.i.data, "no Tessera store"])
        self.assertFalse(os.path.exists(self.path("data.mdb")))

    def test_truncated_data_mdb_is_refused_not_sigbus(self):
        size = os.path.getsize(self.path("data.mdb"))
        self.assertGreater(size, 8 * 4096)
        self.truncate(self.path("data.mdb"), size // 2 // 4096 * 4096)
        self.refused(EXIT_TRUNCATED, [self.i.data, "truncated"])
        for args in (("audit", "verify", "--data", self.i.data),
                     ("backup", "--data", self.i.data,
                      os.path.join(self.i.dir, "cut.bak"))):
            p = self.offline(*args)
            self.assertEqual(p.returncode, EXIT_TRUNCATED, p.stderr)
            self.assertIn("truncated", p.stderr)

    def test_truncated_backup_restore_is_refused_not_sigbus(self):
        bak = self.backup("half.bak")
        size = os.path.getsize(bak)
        self.truncate(bak, size // 2 // 4096 * 4096)
        target = os.path.join(self.i.dir, "restored-cut")
        p = self.offline("restore", "--data", target, bak)
        self.assertEqual(p.returncode, EXIT_TRUNCATED, p.stderr)
        self.assertIn("truncated", p.stderr)
        self.assertFalse(os.path.exists(target))

    def test_wrong_master_key_is_refused_at_start(self):
        with open(self.path("master.key"), "wb") as f:
            f.write(os.urandom(32))
        self.refused(EXIT_KEY_MISMATCH, [self.path("master.key"),
                                         "not the one the store was made"])

    def test_other_ca_key_is_refused_at_start(self):
        os.unlink(self.path("ca.key"))
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     self.path("ca.key")])
        self.refused(EXIT_KEY_MISMATCH, [self.path("ca.key"),
                                         "not the one the store was made"])

    def test_corrupt_meta_page_is_reported_corrupt_not_out_of_memory(self):
        # Both meta pages claim a last page far past any map: LMDB would
        # try to map it and fail with ENOMEM.
        with open(self.path("data.mdb"), "r+b") as f:
            head = f.read(4096 + 152)
            psize = struct.unpack_from("<I", head, 40)[0]
            for page in (0, 1):
                f.seek(page * psize + 136)
                f.write(struct.pack("<Q", 1 << 50))
        out = self.refused(EXIT_CORRUPT, [self.i.data, "corrupt"])
        self.assertNotIn("out of memory", out)
        p = self.offline("audit", "verify", "--data", self.i.data)
        self.assertEqual(p.returncode, EXIT_CORRUPT, p.stderr)
        self.assertNotIn("out of memory", p.stderr)

    def test_good_backup_restores_and_starts(self):
        bak = self.backup("good.bak")
        target = os.path.join(self.i.dir, "restored-good")
        shutil.rmtree(target, ignore_errors=True)
        p = self.offline("restore", "--data", target, bak)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, out = self.attempt({"TESSERA_DATA_DIR": target})
        self.assertIsNone(rc, out)
        # Its KRL (now on the sshd) still revokes erin's certificate.
        self.assertTrue(self.sshd.refused(self.key, LOGIN))


if __name__ == "__main__":
    unittest.main(verbosity=2)
