"""deploy/compose.yaml on one machine (issue 16): `docker compose config`
accepts it, and `up -d` runs the image from file secrets made by hand
(owned by the image's uid, mode 0400) to a healthy service whose first
admin's enrollment link is in its log; `down -v` removes it all.  Uses
the Compose v2 plugin when present, else Debian 12's docker-compose.

Starts dockerd when none runs; waits are bounded polls."""

import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import unittest

from dockerlib import IMAGE, SRC, build_image, docker, harness, \
    start_dockerd, stop_dockerd, wait
from test_first_start import LINK, make_secrets

PROJECT = "tssc" + secrets.token_hex(3)
FILE = os.path.join(SRC, "deploy", "compose.yaml")


def compose_cmd():
    if docker("compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


class Compose(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-compose.")
        cls.dockerd = None
        try:
            cls.dockerd = start_dockerd(cls.dir)
            build_image()
        except BaseException:
            cls.tearDownClass()
            raise
        sec = os.path.join(cls.dir, "secrets")
        ca, mk, crt, key = make_secrets(sec)
        for n in ("audit_key", "host_ca_key"):
            harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                         "-f", os.path.join(sec, n)])
        for n in ("ca_key", "host_ca_key", "master_key", "tls_key",
                  "audit_key"):
            os.chown(os.path.join(sec, n), 10001, 10001)
            os.chmod(os.path.join(sec, n), 0o400)
        cls.port = harness.free_port()
        cls.env = dict(os.environ, TESSERA_IMAGE=IMAGE, TESSERA_SECRETS=sec,
                       TESSERA_PORT=str(cls.port),
                       TESSERA_PUBLIC_URL="https://127.0.0.1:%d" % cls.port)
        cls.crt = crt

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "env"):
            cls.compose("down", "-v", "-t", "5", check=False)
        stop_dockerd(cls.dockerd)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def compose(cls, *args, check=True):
        p = subprocess.run(compose_cmd() + ["-p", PROJECT, "-f", FILE] +
                           list(args), env=cls.env, capture_output=True,
                           text=True, timeout=300)
        if check:
            assert p.returncode == 0, "compose %s: %s" % (args, p.stderr)
        return p

    def test_config_and_up(self):
        self.assertIn("tesserad", self.compose("config").stdout)
        self.compose("up", "-d")
        i = harness.Instance.__new__(harness.Instance)
        i.dir, i.port, i.proc = self.dir, self.port, None
        i.ctx = ssl.create_default_context(cafile=self.crt)
        ids = self.compose("ps", "-q").stdout.split()
        self.assertEqual(len(ids), 1)

        def healthy():
            h = docker("inspect", "--format", "{{.State.Health.Status}}",
                       ids[0], check=False).stdout.strip()
            return h == "healthy" and i.healthy()
        wait(healthy, "a healthy service", 120)
        logs = self.compose("logs", "--no-color").stdout
        links = LINK.findall(logs)
        self.assertEqual(len(links), 1, logs)
        self.assertEqual(links[0][0], "https://127.0.0.1:%d" % self.port)
        acct = i.enroll(links[0][1], "admin", "correct horse battery")
        self.assertEqual(i.ok("GET", "/v1/me", token=i.login(acct))
                         ["username"], "admin")


if __name__ == "__main__":
    unittest.main(verbosity=2)
