"""Tessera on a real single-node Docker Swarm (issue 16): the image built
from deploy/Dockerfile, deploy/stack.yaml deployed as it ships, from
Docker secrets (keys made by hand: an ssh-keygen CA key, 32 random bytes,
an openssl TLS pair) and configs, with an override file only for what
this machine lacks (no IP virtual server: host-mode ports and dnsrr).
The service turns healthy; the first admin enrolls from the link in the
service log and issues a certificate through the published port; the
task is killed and Swarm restarts it with its data and sessions, serials
continuing; the audit stream reaches a syslog receiver (a unix datagram
socket this test binds, bind-mounted into the task) once each, in order,
and what it missed while the receiver was gone arrives when it returns;
a scheduled backup appears in the volume and restores; a secret with
Docker's default mode stops a service with the documented message.

Starts dockerd when it is not running and initialises a Swarm when none
is active (leaving, at the end, only a Swarm it made); everything it
creates is named after one random stack name and removed at the end.
Waits are bounded polls."""

import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import harness  # noqa: E402
from test_first_start import LINK, make_secrets  # noqa: E402

IMAGE = "tessera:test"
STACK = "tsst" + secrets.token_hex(3)
SERVICE = STACK + "_tesserad"
SECRETS = ("ca_key", "master_key", "tls_key", "audit_key")
SYSLOG = re.compile(r"^<86>.*? tesserad\[\d+\]: (\{.*\})$")


def docker(*args, check=True, timeout=300):
    p = subprocess.run(["docker"] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args),
                                                p.stderr.strip()))
    return p


def wait(pred, what, timeout):
    return harness.wait_for(pred, what, timeout=timeout, step=0.5)


class Swarm(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dockerd = None
        cls.made_swarm = False
        cls.dir = tempfile.mkdtemp(prefix="tessera-swarm.")
        try:
            cls.up()
        except BaseException:
            cls.down()
            raise

    @classmethod
    def up(cls):
        if docker("info", check=False, timeout=60).returncode != 0:
            log = open(os.path.join(cls.dir, "dockerd.log"), "wb")
            cls.dockerd = subprocess.Popen(["dockerd"], stdout=log,
                                           stderr=log,
                                           start_new_session=True)
            wait(lambda: docker("info", check=False,
                                timeout=30).returncode == 0, "dockerd", 60)
        state = docker("info", "--format",
                       "{{.Swarm.LocalNodeState}}").stdout.strip()
        if state != "active":
            docker("swarm", "init", "--advertise-addr", "127.0.0.1")
            cls.made_swarm = True
        subprocess.run([os.path.join(SRC, "scripts",
                                     "debian-base-image.sh")],
                       check=True, capture_output=True, timeout=900)
        docker("build", "-q", "-f", os.path.join(SRC, "deploy",
                                                  "Dockerfile"),
               "-t", IMAGE, SRC, timeout=1200)
        sec = os.path.join(cls.dir, "secrets")
        ca, mk, crt, key = make_secrets(sec)
        ak = os.path.join(sec, "audit_key")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     ak])
        for name, path in zip(SECRETS, (ca, mk, key, ak)):
            docker("secret", "create", "%s_%s" % (STACK, name), path)
        docker("config", "create", STACK + "_tls_crt", crt)
        cls.crt = crt
        cls.port = harness.free_port()
        override = os.path.join(cls.dir, "override.yaml")
        cls.sockdir = os.path.join(cls.dir, "syslog")
        os.mkdir(cls.sockdir)
        os.chmod(cls.sockdir, 0o777)
        cls.receiver = None
        cls.listen_syslog()
        with open(override, "w") as f:
            f.write("services:\n  tesserad:\n    deploy:\n"
                    "      endpoint_mode: dnsrr\n"
                    "    environment:\n"
                    "      TESSERA_AUDIT_LOG: syslog:/run/tss-syslog/log\n"
                    "      TESSERA_BACKUP_INTERVAL: 2s\n"
                    "      TESSERA_BACKUP_KEEP: 3\n"
                    "    volumes:\n      - type: bind\n"
                    "        source: %s\n"
                    "        target: /run/tss-syslog\n" % cls.sockdir +
                    "configs:\n  tessera_tls_crt:\n    external: true\n"
                    "    name: %s_tls_crt\nsecrets:\n" % STACK)
            for name in SECRETS:
                f.write("  tessera_%s:\n    external: true\n"
                        "    name: %s_%s\n" % (name, STACK, name))
        node = docker("info", "--format",
                      "{{.Swarm.NodeID}}").stdout.strip()
        docker("node", "update", "--label-add", "tessera.data=true", node)
        env = dict(os.environ, TESSERA_IMAGE=IMAGE,
                   TESSERA_PUBLIC_URL="https://127.0.0.1:%d" % cls.port,
                   TESSERA_PORT=str(cls.port), TESSERA_PORT_MODE="host")
        p = subprocess.run(["docker", "stack", "deploy", "-c",
                            os.path.join(SRC, "deploy", "stack.yaml"),
                            "-c", override, STACK], env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        cls.i = i = harness.Instance.__new__(harness.Instance)
        i.dir, i.port, i.proc = cls.dir, cls.port, None
        i.ctx = ssl.create_default_context(cafile=crt)
        cls.healthy_task(None)

    @classmethod
    def listen_syslog(cls):
        path = os.path.join(cls.sockdir, "log")
        r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        r.bind(path)
        os.chmod(path, 0o666)
        r.settimeout(0.2)
        cls.receiver = r

    @classmethod
    def stop_syslog(cls):
        cls.receiver.close()
        cls.receiver = None
        os.unlink(os.path.join(cls.sockdir, "log"))

    @classmethod
    def received(cls, into):
        """Append the events the receiver has to into; how many came."""
        n = 0
        while True:
            try:
                d = cls.receiver.recv(65536).decode()
            except socket.timeout:
                return n
            m = SYSLOG.match(d)
            assert m, "not a syslog line from tesserad: %r" % d
            e = harness.json.loads(m.group(1))
            if e.get("type") != "checkpoint":  # signed every N events
                into.append(e)
            n += 1

    @classmethod
    def down(cls):
        if getattr(cls, "receiver", None) is not None:
            cls.receiver.close()
        docker("service", "rm", STACK + "_bad", check=False)
        docker("stack", "rm", STACK, check=False)

        def gone():
            return docker("ps", "-aq", "--filter", "label=com.docker."
                          "stack.namespace=" + STACK,
                          check=False).stdout.strip() == "" and \
                docker("ps", "-aq", "--filter", "name=" + STACK + "_bad",
                       check=False).stdout.strip() == ""
        try:
            wait(gone, "the stack's containers to go", 120)
        except AssertionError:
            pass
        for name in SECRETS:
            docker("secret", "rm", "%s_%s" % (STACK, name), check=False)
        docker("config", "rm", STACK + "_tls_crt", check=False)
        try:
            wait(lambda: docker("volume", "rm", STACK + "_tessera-data",
                                check=False).returncode == 0 or
                 "no such volume" in docker(
                     "volume", "rm", STACK + "_tessera-data",
                     check=False).stderr.lower(), "the volume", 60)
        except AssertionError:
            pass
        if cls.made_swarm:
            docker("swarm", "leave", "--force", check=False)
        else:
            node = docker("info", "--format", "{{.Swarm.NodeID}}",
                          check=False).stdout.strip()
            docker("node", "update", "--label-rm", "tessera.data", node,
                   check=False)
        if cls.dockerd is not None:
            cls.dockerd.send_signal(signal.SIGTERM)
            cls.dockerd.wait(timeout=60)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        cls.down()

    @classmethod
    def task(cls):
        """The running task's container id, or None."""
        ids = docker("ps", "-q", "--filter", "label=com.docker.swarm."
                     "service.name=" + SERVICE, check=False).stdout.split()
        return ids[0] if len(ids) == 1 else None

    @classmethod
    def healthy_task(cls, other_than):
        """Wait for a task that Docker calls healthy and that answers on
        the published port; its container id."""
        def up():
            c = cls.task()
            if c is None or c == other_than:
                return None
            h = docker("inspect", "--format", "{{.State.Health.Status}}",
                       c, check=False).stdout.strip()
            return c if h == "healthy" and cls.i.healthy() else None
        return wait(up, "a healthy task", 180)

    def logs(self, service):
        return docker("service", "logs", "--raw", service,
                      check=False).stdout + docker(
            "service", "logs", "--raw", service, check=False).stderr

    def test_1_first_admin_issues(self):
        i = self.i
        links = wait(lambda: LINK.findall(self.logs(SERVICE)) or None,
                     "the enrollment link in the service log", 60)
        self.assertEqual(len(links), 1)
        url, token = links[0]
        self.assertEqual(url, "https://127.0.0.1:%d" % self.port)
        acct = i.enroll(token, "admin", "correct horse battery")
        Swarm.admin = admin = i.login(acct)
        _, tok, pub = i.issuer(admin, "ann", "app")
        Swarm.req = {"public_key": pub, "target": "prod/api", "login": "app"}
        Swarm.user = tok
        Swarm.serial = i.ok("POST", "/v1/certs", self.req, token=tok,
                            want=201)["serial"]
        # Nothing but the store in the volume: no key was copied.
        ls = docker("exec", self.task(), "ls",
                    "/var/lib/tessera").stdout.split()
        self.assertEqual(sorted(set(ls) - {"tesserad.lock", "backups"}),
                         ["audit-sink.cursor", "data.mdb", "lock.mdb",
                          "tesserad.port"])

    def test_2_audit_to_syslog_once_in_order(self):
        """The receiver has, once each and in order, the chain's events
        from where the sink started to its head; then an outage: what
        comes meanwhile waits and arrives when the receiver is back."""
        i, got = self.i, []

        def caught_up():
            want = [e["seq"] for e in harness.all_events(i, self.admin)
                    if e.get("type") != "checkpoint"]
            seqs = [e["seq"] for e in got]
            return self.received(got) == 0 and seqs and \
                seqs == want[-len(seqs):]
        wait(caught_up, "the stream so far", 60)
        self.stop_syslog()
        for _ in range(3):
            i.call("POST", "/v1/login", {"username": "admin",
                                         "password": "wrong", "code": "1"})
        self.listen_syslog()
        wait(caught_up, "the missed events", 60)
        seqs = [e["seq"] for e in got]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        self.assertEqual(sum(e["action"] == "login.fail" for e in got), 3)

    def test_3_task_killed_restarts_with_its_data(self):
        i, c = self.i, self.task()
        docker("kill", c)
        self.healthy_task(c)
        self.assertEqual(i.ok("GET", "/v1/me", token=self.admin)["username"],
                         "admin")
        again = i.ok("POST", "/v1/certs", self.req, token=self.user,
                     want=201)
        self.assertGreater(again["serial"], self.serial)
        self.assertEqual(len(LINK.findall(self.logs(SERVICE))), 1)

    def test_4_scheduled_backup_restores(self):
        c = self.task()
        name = wait(lambda: [n for n in docker(
            "exec", c, "ls", "/var/lib/tessera/backups").stdout.split()
            if n.startswith("tessera-backup-")], "a backup", 60)[-1]
        p = docker("run", "--rm", "--entrypoint", "sh", "-v",
                   STACK + "_tessera-data:/data:ro", IMAGE, "-c",
                   "tessera restore --data /tmp/r /data/backups/%s && "
                   "tessera audit verify --data /tmp/r" % name,
                   check=False, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_5_secret_with_default_mode_refused(self):
        docker("service", "create", "--detach", "--name", STACK + "_bad",
               "--restart-condition", "none",
               "--config", "source=%s_tesserad_conf,target=/etc/tessera/"
               "tesserad.conf" % STACK,
               "--secret", "source=%s_tls_key,target=tls_key,uid=10001,"
               "mode=0444" % STACK, IMAGE)
        out = wait(lambda: re.search(r"tls_key = /run/secrets/tls_key has "
                                     r"mode 0444.*",
                                     self.logs(STACK + "_bad")),
                   "the refusal in the log", 120)
        self.assertIn('give the secret mode: 0400 (and uid: "10001")',
                      out.group(0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
