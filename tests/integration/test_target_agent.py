"""The target kit (issue 17): `tessera target agent` against a real
tesserad on 127.0.0.1.

The agent joins with a single-use token, writes the host key and
certificate, the user CA, the KRL, one principals file per login and a
complete sshd_config, and (--exec-sshd) becomes a real sshd on an
ephemeral port while a child refreshes every second.  A real ssh with only
the @cert-authority line of GET /v1/ca/host in its known_hosts and
StrictHostKeyChecking=yes runs `id -un` as the test user's own login.
Unchanged files cost a 304 (counted in /metrics) and are not rewritten; a
revoked certificate is refused after the agent's next sync (the delay is
measured and printed); with tesserad stopped the files stay as they were
and the agent says so in one line; a login granted while the server was
down appears when it is back; the refresher dies with sshd.  --once: the
credential, not the spent token, serves the next run; a spent or unknown
token is refused with the server's message; --gateway writes the
gateway's sshd_config naming the binary's own path.  A 60 s host
certificate is renewed 40 s after it arrived, with the credential."""

import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import time
import unittest

import harness as h

LOGIN = pwd.getpwuid(os.getuid()).pw_name   # an account sshd can log into
TARGET = "prod/api"
# The agent's --interval; TESSERA_TEST_AGENT_INTERVAL=30 measures the
# default by hand.
INTERVAL = int(os.environ.get("TESSERA_TEST_AGENT_INTERVAL", "1"))
WAIT = 10 + 3 * INTERVAL        # bound of a wait for the agent's rounds


def metric_304(inst, route):
    text = inst.ok("GET", "/metrics", token=inst.scrape_token).decode()
    m = re.search(r'^tessera_http_requests_total\{route="%s",status="304"\}'
                  r' (\S+)$' % re.escape(route), text, re.M)
    return float(m.group(1)) if m else 0.0


class TargetAgent(unittest.TestCase):
    def setUp(self):
        self.inst = h.Instance()
        self.addCleanup(self.inst.close)
        self.agent = None
        self.addCleanup(self.stop_agent)
        self.inst.metrics_token()
        # A fixed port, so the agent finds the server again after a restart.
        self.inst.env["TESSERA_LISTEN"] = "127.0.0.1:%d" % h.free_port()
        self.inst.start()
        os.makedirs("/run/sshd", exist_ok=True)     # sshd's privsep dir
        _, self.admin = self.inst.admin()
        _, self.tok, _ = self.inst.issuer(self.admin, "eng", LOGIN)
        self.key = os.path.join(self.inst.dir, "eng")
        self.port = h.free_port()
        self.inst.ok("PUT", "/v1/targets/" + TARGET,
                     {"labels": {}, "hosts": ["127.0.0.1"],
                      "port": self.port}, token=self.admin)
        self.kit = os.path.join(self.inst.dir, "kit")
        self.agent_log = os.path.join(self.inst.dir, "agent.log")

    # -- helpers --
    def join_token(self):
        r = self.inst.ok("POST", "/v1/targets/%s/token" % TARGET, {},
                         token=self.admin, want=201)
        self.assertTrue(r["token"].startswith("tsj_"))
        path = os.path.join(self.inst.dir, "token.%d" % time.monotonic_ns())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(r["token"] + "\n")
        return r["token"], path

    def agent_args(self, token_file, *extra):
        return [h.TESSERA, "--server", "https://127.0.0.1:%d" %
                self.inst.port, "--ca-file",
                os.path.join(self.inst.data, "tls.crt"), "target", "agent",
                "--token-file", token_file, "--dir", self.kit,
                "--port", str(self.port), "--listen", "127.0.0.1"] + \
            list(extra)

    def start_agent(self, token_file):
        log = open(self.agent_log, "ab")
        self.agent = subprocess.Popen(
            self.agent_args(token_file, "--interval", str(INTERVAL),
                            "--exec-sshd", "--", "-o", "StrictModes=no",
                            "-o", "LogLevel=VERBOSE"),
            stdout=log, stderr=log)
        log.close()

        def up():
            if self.agent.poll() is not None:
                raise AssertionError("agent exited %d: %s" % (
                    self.agent.returncode, self.log_text()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return True
            except OSError:
                return False
        h.wait_for(up, "sshd from the agent on port %d" % self.port)

    def stop_agent(self):
        if self.agent is not None and self.agent.poll() is None:
            self.agent.kill()
            self.agent.wait(timeout=10)

    def log_text(self):
        with open(self.agent_log, "rb") as f:
            return f.read().decode(errors="replace")

    def refresher_pid(self):
        """The agent's child (the refresher) under sshd's pid."""
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if ppid == self.agent.pid and b"target\0agent" in cmd:
                return int(name)
        return None

    def user_cert(self):
        with open(self.key + ".pub") as f:
            pub = f.read()
        c = self.inst.ok("POST", "/v1/certs",
                         {"public_key": pub, "target": TARGET},
                         token=self.tok, want=201)
        with open(self.key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        return c["serial"]

    def known_hosts(self):
        st, hdrs, body = self.inst.call("GET", "/v1/ca/host")
        self.assertEqual(st, 200)
        text = body.decode() if isinstance(body, bytes) else body
        self.assertTrue(text.startswith("@cert-authority "), text)
        path = os.path.join(self.inst.dir, "known_hosts")
        with open(path, "w") as f:
            f.write(text)
        return path

    def ssh(self, kh, command="id -un"):
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=yes", "-o",
             "UserKnownHostsFile=" + kh, "-o", "GlobalKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
             "-i", self.key, "-o", "CertificateFile=" + self.key +
             "-cert.pub", "-p", str(self.port), LOGIN + "@127.0.0.1",
             command], capture_output=True, text=True, timeout=60)

    def kit_file(self, name):
        with open(os.path.join(self.kit, name), "rb") as f:
            return f.read()

    def mode(self, name):
        return stat.S_IMODE(os.stat(os.path.join(self.kit, name)).st_mode)

    # -- tests --
    def test_join_ssh_revoke_server_down(self):
        token, token_file = self.join_token()
        self.start_agent(token_file)
        # The files, with their modes; the token never reaches the log.
        self.assertEqual(self.mode("ssh_host_ed25519_key"), 0o600)
        self.assertEqual(self.mode("credential"), 0o600)
        for name in ("ssh_host_ed25519_key.pub", "user_ca.pub", "krl",
                     "ssh_host_ed25519_key-cert.pub", "sshd_config",
                     "principals/" + LOGIN):
            self.assertEqual(self.mode(name), 0o644, name)
        self.assertEqual(self.kit_file("principals/" + LOGIN).decode(),
                         "%s@%s\n" % (LOGIN, TARGET))
        self.assertEqual(self.kit_file("user_ca.pub"),
                         self.inst.ok("GET", "/v1/ca"))
        self.assertEqual(os.listdir(os.path.join(self.kit, "principals")),
                         [LOGIN])
        self.assertNotIn(token, self.log_text())
        fields, principals = h.cert_fields(
            os.path.join(self.kit, "ssh_host_ed25519_key-cert.pub"))
        self.assertIn("host certificate", fields["Type"])
        self.assertEqual(principals, ["127.0.0.1"])

        # A real ssh trusting only the host CA line, strict checking.
        kh = self.known_hosts()
        serial = self.user_cert()
        p = self.ssh(kh)
        self.assertEqual(p.returncode, 0, p.stderr + self.log_text())
        self.assertEqual(p.stdout.strip(), LOGIN)

        # Unchanged: 304s, and the KRL file is not rewritten.
        ino = os.stat(os.path.join(self.kit, "krl")).st_ino
        base = metric_304(self.inst, "/v1/krl")
        h.wait_for(lambda: metric_304(self.inst, "/v1/krl") >= base + 2,
                   "two 304s for /v1/krl", timeout=WAIT)
        h.wait_for(lambda: metric_304(self.inst, "/v1/hosts/self") >= 1,
                   "a 304 for /v1/hosts/self", timeout=WAIT)
        self.assertEqual(os.stat(os.path.join(self.kit, "krl")).st_ino, ino)

        # Revoked: refused after the agent's next sync.
        self.inst.ok("POST", "/v1/certs/%d/revoke" % serial,
                     token=self.admin)
        t0 = time.monotonic()

        def refused():
            p = self.ssh(kh, "true")
            return p.returncode == 255 and "Permission denied" in p.stderr
        h.wait_for(refused, "the revoked certificate refused", timeout=WAIT,
                   step=0.1)
        delay = time.monotonic() - t0
        print("revocation to refusal: %.2f s (interval %d s)" %
              (delay, INTERVAL))
        self.assertLess(delay, INTERVAL + 5)
        self.assertNotEqual(os.stat(os.path.join(self.kit, "krl")).st_ino,
                            ino, "the new KRL replaced the file")

        # Server down: the files stay, one line a round says so (the round
        # stops at its first request, GET /v1/ca); sshd keeps the KRL.
        before = {n: self.kit_file(n) for n in
                  ("krl", "user_ca.pub", "principals/" + LOGIN,
                   "ssh_host_ed25519_key-cert.pub", "credential")}
        self.inst.stop()
        h.wait_for(lambda: "keeping the last good files" in self.log_text(),
                   "the agent's line about the server", timeout=WAIT)
        for name, data in before.items():
            self.assertEqual(self.kit_file(name), data, name)
        self.assertTrue(refused())

        # A login granted while the server was down appears once it is
        # back (and the failures were one line per round).
        self.inst.start()
        self.inst.ok("PUT", "/v1/roles/ops",
                     {"rules": [{"targets": ["prod/*"],
                                 "logins": [LOGIN, "nobody"]}],
                      "max_ttl": 3600}, token=self.admin)
        h.wait_for(lambda: os.path.exists(
            os.path.join(self.kit, "principals", "nobody")),
            "principals/nobody", timeout=WAIT)
        self.assertEqual(self.kit_file("principals/nobody").decode(),
                         "nobody@%s\n" % TARGET)
        down = [line for line in self.log_text().splitlines()
                if "keeping the last good files" in line]
        self.assertTrue(down)
        for line in down:
            self.assertIn("agent: GET /v1/ca: cannot connect", line)
        self.user_cert()
        p = self.ssh(kh)
        self.assertEqual(p.returncode, 0, p.stderr)

        # The refresher dies with sshd.
        child = self.refresher_pid()
        self.assertIsNotNone(child)
        self.agent.send_signal(signal.SIGTERM)
        self.agent.wait(timeout=10)
        def gone():
            try:
                with open("/proc/%d/stat" % child) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True
        h.wait_for(gone, "the refresher to exit", timeout=10)

    def test_once_credential_and_refused_tokens(self):
        _, token_file = self.join_token()
        p = subprocess.run(self.agent_args(token_file, "--once"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        cert = self.kit_file("ssh_host_ed25519_key-cert.pub")
        key = self.kit_file("ssh_host_ed25519_key")
        # The token is spent: the next run uses the credential.
        p = subprocess.run(self.agent_args(token_file, "--once"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.kit_file("ssh_host_ed25519_key"), key)
        self.assertEqual(self.kit_file("ssh_host_ed25519_key-cert.pub"),
                         cert, "not due for renewal: not renewed")
        # A spent token in a fresh directory: refused; no certificate and
        # no credential (the public CA and KRL may be fetched regardless).
        other = os.path.join(self.inst.dir, "kit2")
        args = self.agent_args(token_file, "--once")
        args[args.index(self.kit)] = other
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("join refused (HTTP 401)", p.stderr)
        for name in ("ssh_host_ed25519_key-cert.pub", "credential",
                     "principals"):
            self.assertFalse(os.path.exists(os.path.join(other, name)), name)
        # --gateway: the gateway's sshd_config, naming this very binary,
        # which sshd -t accepts.
        _, token_file = self.join_token()
        gw = os.path.join(self.inst.dir, "kit3")
        args = self.agent_args(token_file, "--once", "--gateway")
        args[args.index(self.kit)] = gw
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(gw, "sshd_config")) as f:
            self.assertIn("Include %s/tessera.conf\n" % gw, f.read())
        with open(os.path.join(gw, "tessera.conf")) as f:
            conf = f.read()
        exe = os.path.realpath(h.TESSERA)
        self.assertIn("AuthorizedPrincipalsCommand %s gateway principals "
                      "%%t %%k\n" % exe, conf)
        self.assertIn("ForceCommand %s gateway shell\n" % exe, conf)
        self.assertIn("AllowUsers tessera\n", conf)
        self.assertNotIn("AuthorizedPrincipalsFile", conf)
        h.run([h.SSHD, "-t", "-f", os.path.join(gw, "sshd_config")])
        # An unknown token: the same answer.
        bogus = os.path.join(self.inst.dir, "bogus")
        with open(bogus, "w") as f:
            f.write("tsj_" + "0" * 64 + "\n")
        args = self.agent_args(bogus, "--once")
        args[args.index(self.kit)] = other
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("join refused (HTTP 401)", p.stderr)


class Renewal(unittest.TestCase):
    """host_cert_ttl = 60 s: the agent renews with its credential two
    thirds into the certificate's life as it received it (40 s), not at
    every round although the certificate is valid from 5 minutes before
    its issue (clock skew)."""

    def test_renewal_at_two_thirds(self):
        inst = h.Instance()
        self.addCleanup(inst.close)
        inst.env["TESSERA_HOST_CERT_TTL"] = "60"
        inst.start()
        _, admin = inst.admin()
        inst.ok("PUT", "/v1/targets/" + TARGET,
                {"labels": {}, "hosts": ["127.0.0.1"]}, token=admin)
        r = inst.ok("POST", "/v1/targets/%s/token" % TARGET, {},
                    token=admin, want=201)
        tok = os.path.join(inst.dir, "token")
        with open(tok, "w") as f:
            f.write(r["token"])
        kit = os.path.join(inst.dir, "kit")
        cert = os.path.join(kit, "ssh_host_ed25519_key-cert.pub")
        log_path = os.path.join(inst.dir, "agent.log")
        with open(log_path, "ab") as log:
            agent = subprocess.Popen(
                [h.TESSERA, "--server", "https://127.0.0.1:%d" % inst.port,
                 "--ca-file", os.path.join(inst.data, "tls.crt"), "target",
                 "agent", "--token-file", tok, "--dir", kit, "--interval",
                 "1"], stdout=log, stderr=log)

        def stop():
            agent.kill()
            agent.wait(timeout=10)
        self.addCleanup(stop)
        def read(path):
            try:
                with open(path) as f:
                    return f.read()
            except OSError:
                return None
        # The join writes the certificate, then the credential.
        first = h.wait_for(lambda: read(os.path.join(kit, "credential")) and
                           read(cert), "the host certificate")
        t0 = time.monotonic()
        cred = read(os.path.join(kit, "credential"))
        renewed = h.wait_for(lambda: read(cert) != first and read(cert),
                             "the renewal", timeout=75, step=0.2)
        waited = time.monotonic() - t0
        print("renewed after %.1f s of a 60 s certificate" % waited)
        self.assertGreater(waited, 40 - 3)
        self.assertLess(waited, 40 + 5)
        self.assertEqual(read(os.path.join(kit, "credential")), cred)
        with open(log_path, "rb") as f:
            text = f.read().decode(errors="replace")
        self.assertEqual(text.count("(renewal)"), 1, text)
        self.assertNotEqual(renewed, first)


if __name__ == "__main__":
    unittest.main(verbosity=2)
