"""Tessera on a real single-node Docker Swarm (issue 16): the image built
from deploy/Dockerfile, deploy/stack.yaml deployed as it ships, from
Docker secrets (keys made by hand: an ssh-keygen CA key, 32 random bytes,
an openssl TLS pair) and configs, with an override file only for what
this machine lacks (no IP virtual server: host-mode ports and dnsrr).
The service turns healthy; the first admin enrolls from the link in the
service log and issues a certificate through the published port; the
task is killed and Swarm restarts it with its data and sessions, serials
continuing; the audit stream reaches a syslog receiver container (a unix
datagram socket on a volume the task mounts too) once each, in order,
and what it missed while the receiver was stopped arrives when it is
started again; a scheduled backup appears in the volume and restores; a
secret with Docker's default mode stops a service with the documented
message; switched to audit_log = -, the task's stderr carries the audit
stream alone, from where the syslog sink stopped.

Starts dockerd when it is not running and initialises a Swarm when none
is active (leaving, at the end, only a Swarm it made); everything it
creates is named after one random stack name and removed at the end.
Waits are bounded polls."""

import os
import re
import secrets
import ssl
import subprocess
import unittest

from dockerlib import IMAGE, SRC, SwarmCase, docker, harness, wait
from test_first_start import LINK, make_secrets  # noqa: E402

STACK = "tsst" + secrets.token_hex(3)
SERVICE = STACK + "_tesserad"
SECRETS = ("ca_key", "master_key", "tls_key", "audit_key", "host_ca_key")
SYSLOG = re.compile(r"^<86>.*? tesserad\[\d+\]: (\{.*\})$")
# The receiver container: a unix datagram socket on a volume the task
# mounts too, each datagram printed as a line (perl-base is in the slim
# image; a syslog daemon would be the same socket).
RECEIVER = r"""
use Socket; use IO::Socket::UNIX;
$| = 1; $SIG{TERM} = sub { exit 0 };
my $p = "/run/tss-syslog/log"; unlink $p;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $p)
    or die "bind $p: $!";
chmod 0666, $p; print "ready\n";
while (defined $s->recv(my $m, 65536)) { $m =~ s/\n+$//; print "$m\n"; }
"""


class Swarm(SwarmCase):

    STACK = STACK

    @classmethod
    def up(cls):
        sec = os.path.join(cls.dir, "secrets")
        ca, mk, crt, key = make_secrets(sec)
        ak = os.path.join(sec, "audit_key")
        hk = os.path.join(sec, "host_ca_key")
        for k in (ak, hk):
            harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                         "-f", k])
        for name, path in zip(SECRETS, (ca, mk, key, ak, hk)):
            docker("secret", "create", "%s_%s" % (STACK, name), path)
        docker("config", "create", STACK + "_tls_crt", crt)
        cls.crt = crt
        cls.port = harness.free_port()
        override = os.path.join(cls.dir, "override.yaml")
        docker("volume", "create", STACK + "_syslog")
        docker("run", "-d", "--name", STACK + "_syslog", "-v",
               STACK + "_syslog:/run/tss-syslog", "debian:12-slim",
               "perl", "-e", RECEIVER)
        cls.receiver_up(1)
        with open(override, "w") as f:
            f.write("services:\n  tesserad:\n    deploy:\n"
                    "      endpoint_mode: dnsrr\n"
                    "    environment:\n"
                    "      TESSERA_AUDIT_LOG: syslog:/run/tss-syslog/log\n"
                    "      TESSERA_BACKUP_INTERVAL: 2s\n"
                    "      TESSERA_BACKUP_KEEP: 3\n"
                    "    volumes:\n      - type: volume\n"
                    "        source: syslog\n"
                    "        target: /run/tss-syslog\n"
                    "volumes:\n  syslog:\n    external: true\n"
                    "    name: %s_syslog\n" % STACK +
                    "configs:\n  tessera_tls_crt:\n    external: true\n"
                    "    name: %s_tls_crt\nsecrets:\n" % STACK)
            for name in SECRETS:
                f.write("  tessera_%s:\n    external: true\n"
                        "    name: %s_%s\n" % (name, STACK, name))
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
    def receiver_up(cls, starts):
        """Wait until the receiver container has bound its socket for the
        starts-th time."""
        wait(lambda: docker("logs", STACK + "_syslog", check=False)
             .stdout.split("\n").count("ready") >= starts,
             "the syslog receiver", 60)

    @classmethod
    def received(cls):
        """The events the receiver container has printed, in arrival
        order (checkpoints, signed every N events, left out)."""
        got = []
        for line in docker("logs", STACK + "_syslog").stdout.split("\n"):
            if line in ("", "ready"):
                continue
            m = SYSLOG.match(line)
            assert m, "not a syslog line from tesserad: %r" % line
            e = harness.json.loads(m.group(1))
            if e.get("type") != "checkpoint":
                got.append(e)
        return got

    @classmethod
    def down(cls):
        docker("service", "rm", STACK + "_bad", check=False)
        docker("rm", "-f", STACK + "_syslog", check=False)
        cls.remove_stack(SECRETS, ("tessera-data", "syslog"),
                         extra=(STACK + "_bad",))

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

    def test_0_stack_config_accepts_the_files_as_shipped(self):
        env = dict(os.environ, TESSERA_IMAGE=IMAGE,
                   TESSERA_PUBLIC_URL="https://tessera.internal:8443",
                   TESSERA_STORE="postgresql://tessera@db1,db2/tessera")
        for f, want in (("stack.yaml", "replicas: 1"),
                        ("stack-ha.yaml", "replicas: 2")):
            p = subprocess.run(["docker", "stack", "config", "-c",
                                os.path.join(SRC, "deploy", f)],
                               env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, f + ": " + p.stderr)
            self.assertIn("tesserad:", p.stdout)
            self.assertIn("uid: \"10001\"", p.stdout)
            self.assertIn(want, p.stdout)
        self.assertIn("TESSERA_STORE: postgresql://", p.stdout)

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

    def chain(self):
        return [e["seq"] for e in harness.all_events(self.i, self.admin)
                if e.get("type") != "checkpoint"]

    def test_2_audit_to_syslog_once_in_order(self):
        """The receiver container has, once each and in order, the
        chain's events from where the sink started to its head; then it
        is stopped: what comes meanwhile waits and arrives when it is
        started again."""
        i = self.i

        def caught_up():
            seqs = [e["seq"] for e in self.received()]
            return seqs and seqs == self.chain()[-len(seqs):]
        wait(caught_up, "the stream so far", 60)
        docker("stop", "-t", "5", STACK + "_syslog")
        for _ in range(3):
            i.call("POST", "/v1/login", {"username": "admin",
                                         "password": "wrong", "code": "1"})
        docker("start", STACK + "_syslog")
        self.receiver_up(2)
        wait(caught_up, "the missed events", 60)
        got = self.received()
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


    def test_6_audit_to_stderr_continues_the_stream(self):
        """audit_log = -: the new task's stderr is the audit stream alone
        (JSON lines), its stdout the text log; the stream starts where
        the syslog sink stopped, so each event went out once."""
        old = self.task()
        last = max(e["seq"] for e in self.received())
        docker("service", "update", "--detach", "--env-add",
               "TESSERA_AUDIT_LOG=-", SERVICE)
        c = self.healthy_task(old)
        self.i.call("POST", "/v1/login", {"username": "admin",
                                          "password": "wrong", "code": "1"})

        def stream():
            p = docker("logs", c, check=False)
            ev = [harness.json.loads(x) for x in p.stderr.split("\n") if x]
            ev = [e for e in ev if e.get("type") != "checkpoint"]
            return (ev, p.stdout) if ev and ev[-1]["seq"] == \
                self.chain()[-1] else None
        ev, out = wait(stream, "the audit stream on stderr", 60)
        self.assertEqual([e["seq"] for e in ev],
                         list(range(last + 1, last + 1 + len(ev))))
        self.assertEqual(ev[-1]["action"], "login.fail")
        self.assertIn("listening on", out)
        for line in out.split("\n"):
            self.assertFalse(line.startswith("{"), line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
