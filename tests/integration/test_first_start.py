"""First start from secrets (issue 16): a real tesserad whose keys are
files a user made (an ssh-keygen CA key, 32 random bytes, an openssl TLS
pair), mode 0400 in a directory of their own as Docker mounts secrets, and
whose data directory does not exist yet.  With bootstrap_admin set it
makes the store there without copying a key, prints the admin's
enrollment link once to its log, and serves; the link enrolls, the admin
issues a certificate; a restart keeps everything and prints no link.
`tessera enroll-link` renews a lost link of a user who has not enrolled
and refuses one who has.  A secret that is missing, readable by others or
owned by another uid stops tesserad with a message that says what to put
in the stack file.  `tessera init --ca-key --master-key --public-url`
uses the given keys in place."""

import os
import re
import shutil
import subprocess
import unittest

import harness

LINK = re.compile(r"enrolls at this link.*: (https://\S+)/enroll#token="
                  r"([0-9a-f]{64})")


def make_secrets(d):
    os.makedirs(d)
    ca = os.path.join(d, "ca_key")
    harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                 "made by hand", "-f", ca])
    os.unlink(ca + ".pub")
    mk = os.path.join(d, "master_key")
    with open(mk, "wb") as f:
        f.write(os.urandom(32))
    crt, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls_key")
    harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1"])
    for p in (ca, mk, key):
        os.chmod(p, 0o400)
    return ca, mk, crt, key


class FirstStart(unittest.TestCase):

    def setUp(self):
        # An Instance for its process and HTTP helpers; its own data
        # directory is replaced by a volume that does not exist yet.
        self.i = i = harness.Instance()
        self.addCleanup(i.close)
        sec = os.path.join(i.dir, "secrets")
        self.ca, self.mk, crt, key = make_secrets(sec)
        self.tls_key = key
        self.vol = os.path.join(i.dir, "volume")
        i.data = self.vol
        i.conf = os.path.join(i.dir, "tesserad.conf")
        with open(i.conf, "w") as f:
            f.write("data_dir = %s\nbootstrap_admin = boss\n"
                    "tls_cert = %s\ntls_key = %s\nca_key = %s\n"
                    "master_key = %s\n" % (self.vol, crt, key, self.ca,
                                          self.mk))
        i.ctx = harness.ssl.create_default_context(cafile=crt)

    def log(self):
        with open(os.path.join(self.i.dir, "tesserad.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def refused(self, want):
        p = subprocess.run([harness.TESSERAD, "--config", self.i.conf],
                           env=self.i.env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn(want, p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.vol, "data.mdb")))

    def test_first_start_enroll_issue_restart(self):
        i = self.i
        i.start()
        links = LINK.findall(self.log())
        self.assertEqual(len(links), 1, self.log())
        url, token = links[0]
        self.assertEqual(url, "https://127.0.0.1:%d" % i.port)
        # Only the store: no key was copied into the volume.
        self.assertEqual(sorted(os.listdir(self.vol)),
                         ["audit-sink.cursor", "data.mdb", "lock.mdb", "tesserad.lock",
                          "tesserad.port"])
        acct = i.enroll(token, "boss", "correct horse battery")
        admin = i.login(acct)
        _, tok, pub = i.issuer(admin, "ann", "app")
        r = i.ok("POST", "/v1/certs", {"public_key": pub,
                                       "target": "prod/api",
                                       "login": "app"}, token=tok, want=201)
        self.assertEqual(i.stop(), 0)
        i.start()
        self.assertEqual(len(LINK.findall(self.log())), 1, self.log())
        self.assertEqual(i.ok("GET", "/v1/me", token=admin)["username"],
                         "boss")
        r2 = i.ok("POST", "/v1/certs", {"public_key": pub,
                                        "target": "prod/api",
                                        "login": "app"}, token=tok, want=201)
        self.assertGreater(r2["serial"], r["serial"])
        # The first admin has enrolled: no link from the host for them.
        p = i.tessera("enroll-link", "--config", i.conf, "boss", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("boss has enrolled", p.stderr)

    def test_lost_link_renewed_once(self):
        i = self.i
        i.start()
        _, old = LINK.findall(self.log())[0]
        p = i.tessera("enroll-link", "--config", i.conf, "boss")
        m = re.search(r"/enroll#token=([0-9a-f]{64})$", p.stdout, re.M)
        self.assertIsNotNone(m, p.stdout)
        st, _, _ = i.call("POST", "/v1/enroll/start",
                          {"token": old, "password": "correct horse b1"})
        self.assertEqual(st, 401)
        i.enroll(m.group(1), "boss", "correct horse battery")

    def test_secret_readable_by_others(self):
        os.chmod(self.ca, 0o444)
        self.refused("mode: 0400")

    def test_tls_key_readable_by_others(self):
        os.chmod(self.tls_key, 0o444)
        p = subprocess.run([harness.TESSERAD, "--config", self.i.conf],
                           env=self.i.env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("tls_key", p.stdout + p.stderr)
        self.assertIn("mode: 0400", p.stdout + p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.vol, "data.mdb")))

    def host_ca(self, path):
        with open(self.i.conf, "a") as f:
            f.write("host_ca_key = %s\n" % path)

    def test_host_ca_is_read_in_place_and_never_the_ca(self):
        self.host_ca(self.ca)
        self.refused("is the same key as ca_key")
        with open(self.i.conf) as f:
            conf = f.read().replace("host_ca_key = %s\n" % self.ca, "")
        with open(self.i.conf, "w") as f:
            f.write(conf)
        hca = os.path.join(os.path.dirname(self.ca), "host_ca_key")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     hca])
        os.chmod(hca, 0o400)
        self.host_ca(hca)
        self.i.start()
        line = self.i.ok("GET", "/v1/ca/host").decode()
        with open(hca + ".pub") as f:
            key = " ".join(f.read().split()[:2])
        self.assertEqual(line.split()[2:4], key.split())
        self.assertNotIn("host_ca", " ".join(os.listdir(self.vol)))

    def test_secret_missing(self):
        os.unlink(self.mk)
        self.refused("secrets:")

    @unittest.skipUnless(os.geteuid() == 0, "chown needs root")
    def test_secret_of_another_uid(self):
        os.chown(self.mk, 12345, -1)
        self.refused('uid: "0"')

    def test_volume_with_files_but_no_store_refused(self):
        os.makedirs(self.vol)
        with open(os.path.join(self.vol, "stray"), "w") as f:
            f.write("not a store\n")
        self.refused("holds files but no store")

    def test_user_made_master_key_of_wrong_size(self):
        os.chmod(self.mk, 0o600)
        with open(self.mk, "wb") as f:
            f.write(os.urandom(16))
        os.chmod(self.mk, 0o400)
        self.refused("exactly 32 random bytes")

    def test_init_takes_existing_keys(self):
        d = os.path.join(self.i.dir, "initdata")
        out = harness.run([harness.TESSERA, "init", "--data", d,
                           "--ca-key", self.ca, "--master-key", self.mk,
                           "--public-url", "https://tessera.example.test",
                           "--admin", "boss"])
        self.assertIn("https://tessera.example.test/enroll#token=", out)
        self.assertFalse(os.path.exists(os.path.join(d, "ca.key")))
        self.assertFalse(os.path.exists(os.path.join(d, "master.key")))
        with open(os.path.join(d, "tesserad.conf")) as f:
            conf = f.read()
        self.assertIn("ca_key = %s\n" % self.ca, conf)
        self.assertIn("master_key = %s\n" % self.mk, conf)
        # init makes a host CA of its own unless given one.
        self.assertIn("host_ca_key = %s/host_ca.key\n" % os.path.realpath(d),
                      conf)
        self.assertEqual(os.stat(os.path.join(d, "host_ca.key")).st_mode &
                         0o777, 0o600)
        shutil.rmtree(d)
        hca = os.path.join(self.i.dir, "host_ca_key")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     hca])
        harness.run([harness.TESSERA, "init", "--data", d, "--ca-key",
                     self.ca, "--host-ca-key", hca])
        with open(os.path.join(d, "tesserad.conf")) as f:
            self.assertIn("host_ca_key = %s\n" % hca, f.read())
        self.assertFalse(os.path.exists(os.path.join(d, "host_ca.key")))
        shutil.rmtree(d)
        p = subprocess.run([harness.TESSERA, "init", "--data", d,
                            "--ca-key", self.ca, "--host-ca-key", self.ca],
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is the same key as ca_key", p.stderr)
        self.assertFalse(os.path.exists(d), "a failed init leaves nothing")
        os.chmod(self.ca, 0o444)
        p = subprocess.run([harness.TESSERA, "init", "--data", d,
                            "--ca-key", self.ca], capture_output=True,
                           text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("mode: 0400", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
