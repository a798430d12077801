"""Reaching containers on a real single-node Docker Swarm (issue 17): the
Tessera stack from deploy/stack.yaml, a target with the kit
(deploy/target/, its demo service) and an app container without sshd
behind the gateway (deploy/gateway/, mode: global), each joined with a
single-use token, so both present host certificates.  The app's target
has neither hosts nor a gateway: its route is the gateway that reports
its labelled container.  As an engineer,
`tessera ssh` reaches both with StrictHostKeyChecking yes and only the
@cert-authority line, and runs `id -un` as the granted login; a login not
granted is refused; a target whose container lacks the label is refused
by the gateway; after the admin resets the engineer, the certificate they
hold is refused on both paths once each agent has fetched the new KRL
(the delay is measured and printed; the agents run with the default
30 s interval).

Starts dockerd and a Swarm when none runs (leaving only a Swarm it
made); everything it creates is named after one random stack name and
removed at the end.  Waits are bounded polls."""

import os
import shlex
import secrets
import ssl
import subprocess
import time
import unittest

from dockerlib import IMAGE, SRC, SwarmCase, docker, harness, wait
from test_first_start import LINK, make_secrets

STACK = "tssr" + secrets.token_hex(3)
TARGET_IMAGE = "tessera-target:test"
GATEWAY_IMAGE = "tessera-gateway:test"
KEYS = ("ca_key", "host_ca_key", "master_key", "tls_key", "audit_key")
ENGINEER = "ann"
REFRESH = 30        # the agents' default interval


class Reach(SwarmCase):

    STACK = STACK

    # -- the stack --
    @classmethod
    def up(cls):
        for img, d in ((TARGET_IMAGE, "target"), (GATEWAY_IMAGE, "gateway")):
            docker("build", "-q", "-f", os.path.join(SRC, "deploy", d,
                                                      "Dockerfile"),
                   "--build-arg", "TESSERA_IMAGE=" + IMAGE, "-t", img,
                   os.path.join(SRC, "deploy", d), timeout=1200)
        cls.node = docker("info", "--format", "{{.Name}}").stdout.strip()
        cls.make_keys()
        cls.port, cls.tport, cls.gport = (harness.free_port()
                                          for _ in range(3))
        cls.env = dict(os.environ, TESSERA_IMAGE=IMAGE,
                       TESSERA_TARGET_IMAGE=TARGET_IMAGE,
                       TESSERA_GATEWAY_IMAGE=GATEWAY_IMAGE,
                       TESSERA_PUBLIC_URL="https://127.0.0.1:%d" % cls.port,
                       TESSERA_PORT=str(cls.port), TESSERA_PORT_MODE="host",
                       TESSERA_TARGET_PORT=str(cls.tport),
                       TESSERA_GATEWAY_PORT=str(cls.gport))
        cls.deploy(["stack.yaml"])
        cls.i = i = harness.Instance.__new__(harness.Instance)
        i.dir, i.port, i.proc = cls.dir, cls.port, None
        i.ctx = ssl.create_default_context(cafile=cls.crt)
        wait(lambda: cls.i.healthy(), "tesserad", 180)
        cls.admin_and_policy()
        cls.deploy(["stack.yaml", "target/demo-target.yaml",
                    "gateway/gateway.yaml"])
        cls.engineer_login()

    @classmethod
    def make_keys(cls):
        sec = os.path.join(cls.dir, "secrets")
        ca, mk, _, _ = make_secrets(sec)
        hca = os.path.join(sec, "host_ca_key")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     hca])
        ak = os.path.join(sec, "audit_key")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     ak])
        # The agents reach tesserad by its service name.
        cls.crt, key = os.path.join(sec, "tls.crt"), os.path.join(sec,
                                                                  "tls_key")
        os.unlink(cls.crt)
        os.unlink(key)
        harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                     "-out", cls.crt, "-days", "2", "-subj", "/CN=tesserad",
                     "-addext",
                     "subjectAltName=DNS:tesserad,IP:127.0.0.1"])
        for name, path in zip(KEYS, (ca, hca, mk, key, ak)):
            docker("secret", "create", "%s_%s" % (STACK, name), path)
        docker("config", "create", STACK + "_tls_crt", cls.crt)

    @classmethod
    def deploy(cls, files):
        """docker stack deploy of the shipped files with the override for
        this machine (host-mode ports, dnsrr), the app container and the
        test's secret names."""
        override = os.path.join(cls.dir, "override.yaml")
        services = ["tesserad"]
        if len(files) > 1:
            services += ["demo-target", "gateway"]
        with open(override, "w") as f:
            f.write("services:\n")
            for s in services:
                f.write("  %s:\n    deploy:\n      endpoint_mode: dnsrr\n"
                        % s)
            if len(files) > 1:
                f.write("  app:\n    image: debian:12-slim\n"
                        "    command: [\"sleep\", \"infinity\"]\n"
                        "    stop_grace_period: 1s\n"
                        "    labels:\n      tessera.target: demo/app\n"
                        "    deploy:\n      endpoint_mode: dnsrr\n")
            f.write("configs:\n  tessera_tls_crt:\n    external: true\n"
                    "    name: %s_tls_crt\nsecrets:\n" % STACK)
            names = ["ca_key", "host_ca_key", "master_key", "tls_key",
                     "audit_key"]
            for n in names:
                f.write("  tessera_%s:\n    external: true\n"
                        "    name: %s_%s\n" % (n, STACK, n))
            if len(files) > 1:
                f.write("  tessera_join_demo:\n    external: true\n"
                        "    name: %s_join_demo\n" % STACK)
                f.write("  tessera_gateway_tokens:\n    external: true\n"
                        "    name: %s_gateway_tokens\n" % STACK)
        args = ["docker", "stack", "deploy"]
        for name in files:
            args += ["-c", os.path.join(SRC, "deploy", name)]
        p = subprocess.run(args + ["-c", override, STACK], env=cls.env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr

    @classmethod
    def admin_and_policy(cls):
        """The first admin from the service log; targets, a role for the
        engineer, and the two join tokens as Docker secrets."""
        i = cls.i

        def link():
            out = docker("service", "logs", "--raw", STACK + "_tesserad",
                         check=False)
            return LINK.findall(out.stdout + out.stderr) or None
        _, token = wait(link, "the enrollment link", 60)[0]
        cls.admin = admin = i.login(i.enroll(token, "admin",
                                             "correct horse battery"))
        gw = "gateway/" + cls.node.lower()
        for name, body in (
                ("demo/ssh", {"hosts": ["127.0.0.1"], "port": cls.tport}),
                (gw, {"hosts": ["127.0.0.1"], "port": cls.gport}),
                ("demo/app", {}),   # routed by the gateway's report
                ("demo/nolabel", {"gateway": "127.0.0.1:%d" % cls.gport})):
            body["labels"] = {}
            i.ok("PUT", "/v1/targets/" + name, body, token=admin)
        i.ok("PUT", "/v1/roles/reach",
             {"rules": [{"targets": ["demo/ssh"], "logins": ["root"]},
                        {"targets": ["demo/app", "demo/nolabel"],
                         "logins": ["www-data"]}],
              "max_ttl": 3600}, token=admin)
        r = i.ok("POST", "/v1/users", {"username": ENGINEER, "groups": []},
                 token=admin, want=201)
        cls.acct = i.enroll(r["enroll_token"], ENGINEER, "ann's password 1")
        i.ok("POST", "/v1/bindings", {"role": "reach",
                                      "subject": "user:" + ENGINEER},
             token=admin, want=201)
        demo = i.ok("POST", "/v1/targets/demo/ssh/token", {}, token=admin,
                    want=201)["token"]
        gwt = i.ok("POST", "/v1/targets/%s/token" % gw, {}, token=admin,
                   want=201)["token"]
        for name, text in (("join_demo", demo),
                           ("gateway_tokens", "%s %s\n" % (cls.node, gwt))):
            p = subprocess.run(["docker", "secret", "create",
                                "%s_%s" % (STACK, name), "-"], input=text,
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr

    @classmethod
    def engineer_login(cls):
        cls.home = os.path.join(cls.dir, "home")
        os.makedirs(os.path.join(cls.home, ".ssh"))
        cls.id = os.path.join(cls.home, ".ssh", "id_ed25519")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     cls.id])
        cls.cenv = dict(os.environ, HOME=cls.home,
                        TESSERA_SERVER="https://127.0.0.1:%d" % cls.port)
        cls.cenv.pop("TESSERA_SSH", None)
        p = cls.cli("login", "--user", ENGINEER, "--password-stdin",
                    "--code-stdin", stdin="%s\n%s\n" % (
                        cls.acct.password, cls.acct.next_code()))
        assert p.returncode == 0, p.stderr

    @classmethod
    def cli(cls, *args, stdin=None):
        return subprocess.run([harness.TESSERA, "--ca-file", cls.crt] +
                              list(args), input=stdin, capture_output=True,
                              text=True, env=cls.cenv, timeout=120)

    @classmethod
    def down(cls):
        cls.remove_stack(KEYS + ("join_demo", "gateway_tokens"),
                         ("tessera-data", "demo-target-ssh", "gateway-ssh"))

    # -- the engineer --
    def ssh(self, target, login, *command):
        return self.cli("ssh", target, "-l", login, "--", *command)

    def reach(self, target, login):
        """Wait until `tessera ssh` reaches target (its agent may still be
        joining); the output of `id -un`."""
        last = []

        def once():
            p = self.ssh(target, login, "id", "-un")
            last[:] = [p]
            return p.stdout if p.returncode == 0 else None
        try:
            return wait(once, "tessera ssh " + target, 180)
        except AssertionError:
            raise AssertionError("%s: %s" % (target, last[0].stderr))

    def test_1_both_paths_as_the_granted_login(self):
        self.assertEqual(self.reach("demo/ssh", "root"), "root\n")
        self.assertEqual(self.reach("demo/app", "www-data"), "www-data\n")
        with open(os.path.join(self.home, ".config", "tessera",
                               "known_hosts")) as f:
            kh = [x for x in f.read().splitlines()
                  if not x.startswith("#")]
        self.assertEqual(len(kh), 1)
        self.assertTrue(kh[0].startswith("@cert-authority "), kh)

    def test_2_a_login_not_granted_is_refused(self):
        p = self.ssh("demo/ssh", "nobody", "id", "-un")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("forbidden", p.stderr.lower() + p.stdout.lower())

    def test_3_a_container_without_the_label_is_unreachable(self):
        p = self.ssh("demo/nolabel", "www-data", "id", "-un")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no container for target demo/nolabel", p.stderr)

    def test_4_reset_refuses_both_paths_within_the_refresh(self):
        """The engineer's certificate, run by plain ssh as the argv
        `tessera ssh --dry-run` shows, until the agents refuse it."""
        self.reach("demo/ssh", "root")
        argv = {}
        for target, login in (("demo/ssh", "root"),
                              ("demo/app", "www-data")):
            p = self.cli("ssh", "--dry-run", target, "-l", login, "--",
                         "true")
            self.assertEqual(p.returncode, 0, p.stderr)
            argv[target] = shlex.split(p.stdout.strip())
            self.assertEqual(subprocess.run(
                argv[target], env=self.cenv, capture_output=True,
                timeout=60).returncode, 0)
        t0 = time.monotonic()
        self.i.ok("POST", "/v1/users/%s/reset" % ENGINEER, token=self.admin)
        refused = {}

        def both():
            for target, a in argv.items():
                if target in refused:
                    continue
                p = subprocess.run(a, env=self.cenv, capture_output=True,
                                   text=True, timeout=60)
                if p.returncode == 255 and "Permission denied" in p.stderr:
                    refused[target] = time.monotonic() - t0
            return len(refused) == len(argv)
        wait(both, "both paths to refuse the revoked certificate",
             REFRESH * 2 + 30)
        print("\nrevocation to refusal: kit %.1f s, gateway %.1f s "
              "(agents' interval %d s)" % (refused["demo/ssh"],
                                           refused["demo/app"], REFRESH))
        for t in refused.values():
            self.assertLess(t, REFRESH + 15)


if __name__ == "__main__":
    unittest.main(verbosity=2)
