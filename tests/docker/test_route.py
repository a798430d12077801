"""Routes that follow the container (issue 17): a real tesserad on
127.0.0.1 and a real `tessera target agent --gateway --once`, joined as
the gateway target gateway/node1, against a real dockerd running a plain
debian:12-slim container labelled tessera.target=prod/api (a target with
neither hosts nor gateway).  The agent's report makes GET
/v1/targets/prod/api/route answer gateway/node1's host and port; an
explicit gateway on the target wins; with the container gone the next
report takes the route away; a label that is not a target name is logged
and left out; a Docker socket that does not answer is logged and the
round still succeeds.

dockerd is started only when none runs (and then stopped); the
containers share one random name prefix and go at the end; no sleeps."""

import os
import secrets
import shutil
import subprocess
import tempfile
import unittest

from dockerlib import (base_image, docker, harness as h, remove_containers,
                       start_dockerd, stop_dockerd)

PREFIX = "tssrt" + secrets.token_hex(3)
IMAGE = "debian:12-slim"
# A target of this run only, so no other container on the node matches.
TARGET = "prod/" + PREFIX
GATEWAY = "gateway/node1"


class Route(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tessera-route.")
        cls.dockerd = None
        try:
            cls.dockerd = start_dockerd(cls.dir)
            base_image()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        remove_containers(PREFIX)
        stop_dockerd(cls.dockerd)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.inst = h.Instance()
        self.addCleanup(self.inst.close)
        self.inst.start()
        _, self.admin = self.inst.admin()
        _, self.tok, _ = self.inst.issuer(self.admin, "eng", "root")
        self.inst.ok("PUT", "/v1/targets/" + TARGET, {"labels": {}},
                     token=self.admin)
        self.inst.ok("PUT", "/v1/targets/" + GATEWAY,
                     {"labels": {}, "hosts": ["127.0.0.1"], "port": 2222},
                     token=self.admin)
        r = self.inst.ok("POST", "/v1/targets/%s/token" % GATEWAY, {},
                         token=self.admin, want=201)
        self.token_file = os.path.join(self.inst.dir, "token")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(r["token"] + "\n")
        self.kit = os.path.join(self.inst.dir, "kit")

    def run_container(self, name, label):
        docker("run", "-d", "--rm", "--name", PREFIX + "-" + name,
               "--label", "tessera.target=" + label, IMAGE, "sleep", "600")

    def agent(self, env=None):
        """One gateway round: (exit code, its log)."""
        p = subprocess.run(
            [h.TESSERA, "--server", "https://127.0.0.1:%d" % self.inst.port,
             "--ca-file", os.path.join(self.inst.data, "tls.crt"),
             "target", "agent", "--gateway", "--once", "--token-file",
             self.token_file, "--dir", self.kit, "--port", "2222"],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout + p.stderr

    def gateway(self):
        return self.inst.ok("GET", "/v1/targets/%s/route" % TARGET,
                            token=self.tok)["gateway"]

    def test_route_follows_the_container(self):
        self.assertIsNone(self.gateway(), "no report yet: no route")
        self.run_container("api", TARGET)
        self.run_container("bad", "Not A Name")
        code, log = self.agent()
        self.assertEqual(code, 0, log)
        self.assertIn("label tessera.target=Not A Name is not a target "
                      "name; not reported", log)
        self.assertEqual(self.gateway(), "127.0.0.1:2222")
        trail = [e for e in h.all_events(self.inst, self.admin)
                 if e["action"] == "host.routes"]
        self.assertEqual([e["actor"] for e in trail], ["host:" + GATEWAY])
        self.assertIn(TARGET, str(trail[0]))

        # An explicit gateway on the target still wins.
        self.inst.ok("PUT", "/v1/targets/" + TARGET,
                     {"labels": {}, "gateway": "gw.example:2200"},
                     token=self.admin)
        self.assertEqual(self.gateway(), "gw.example:2200")
        self.inst.ok("PUT", "/v1/targets/" + TARGET,
                     {"labels": {}, "gateway": None}, token=self.admin)
        self.assertEqual(self.gateway(), "127.0.0.1:2222")

        # The container gone: the next report (with the credential the
        # first run kept) takes the route away.
        docker("rm", "-f", PREFIX + "-api")
        code, log = self.agent()
        self.assertEqual(code, 0, log)
        self.assertIsNone(self.gateway())

        # Docker out of reach: logged, the round still succeeds.
        code, log = self.agent({"DOCKER_HOST": "unix://" + os.path.join(
            self.inst.dir, "no-docker.sock")})
        self.assertEqual(code, 0, log)
        self.assertIn("no routes reported this round", log)
        code, log = self.agent({"DOCKER_HOST": "tcp://127.0.0.1:2375"})
        self.assertNotEqual(code, 0)
        self.assertIn("DOCKER_HOST must be unix:///PATH", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
