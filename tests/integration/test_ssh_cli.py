"""tessera ssh and tessera ssh-config (issue 17) on a real tesserad, a real
sshd presenting a host certificate from POST /v1/hosts/join, and the real
ssh client with only tessera's @cert-authority known_hosts and
StrictHostKeyChecking yes: the command runs as the granted login (the
account running the test), a certificate that still serves is reused and
an unchanged host CA is not written again (304), a login not granted is
refused with the server's message, several logins ask for -l, without a
session it logs in first on a terminal, the generated ssh_config works
with plain `ssh -F`, and --dry-run shows the gateway's argv."""

import os
import pty
import pwd
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import termios
import time
import unittest

import harness

LOGIN = pwd.getpwuid(os.geteuid()).pw_name
USER = "eng"


class SshCli(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = i = harness.Instance()
        cls.sshd = None
        try:
            i.start()
            _, admin = i.admin()
            direct = {"labels": {}, "hosts": ["127.0.0.1"]}
            i.ok("PUT", "/v1/targets/prod/api", direct, token=admin)
            i.ok("PUT", "/v1/targets/demo/app",
                 {"labels": {}, "hosts": [], "gateway": "gw.example:2222"},
                 token=admin)
            i.ok("PUT", "/v1/roles/ops",
                 {"rules": [{"targets": ["prod/*", "demo/*"],
                             "logins": [LOGIN]},
                            {"targets": ["prod/db"], "logins": ["backup"]}],
                  "max_ttl": 3600}, token=admin)
            r = i.ok("POST", "/v1/users", {"username": USER, "groups": []},
                     token=admin, want=201)
            cls.acct = i.enroll(r["enroll_token"], USER, "eng's password 1")
            i.ok("POST", "/v1/bindings",
                 {"role": "ops", "subject": "user:" + USER}, token=admin,
                 want=201)
            # sshd presents a host certificate from a join token.
            hostkey, pub = harness.ssh_keypair(i.dir, "host_ed25519")
            tok = i.ok("POST", "/v1/targets/prod/api/token", {},
                       token=admin, want=201)["token"]
            r = i.ok("POST", "/v1/hosts/join",
                     {"token": tok, "public_key": pub}, want=201)
            with open(hostkey + "-cert.pub", "w") as f:
                f.write(r["certificate"] + "\n")
            cls.ca_text = i.ok("GET", "/v1/ca").decode()
            cls.snippet = i.ok("GET", "/v1/targets/prod/api/sshd",
                               token=admin).decode()
            cls.sshd = harness.Sshd(i.dir, cls.ca_text, cls.snippet,
                                    hostkey=hostkey,
                                    hostcert=hostkey + "-cert.pub")
            direct["port"] = cls.sshd.port
            i.ok("PUT", "/v1/targets/prod/api", direct, token=admin)
            i.ok("PUT", "/v1/targets/prod/db", direct, token=admin)
            cls.home = tempfile.mkdtemp(prefix="home.", dir=i.dir)
            cls.env = dict(os.environ, HOME=cls.home)
            cls.env.pop("TESSERA_SSH", None)
            cls.env.pop("TESSERA_SERVER", None)
            cls.ca = os.path.join(i.data, "tls.crt")
            cls.id = os.path.join(cls.home, ".ssh", "id_ed25519")
            cls.kh = os.path.join(cls.home, ".config", "tessera",
                                  "known_hosts")
            cls.cli_login()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.sshd is not None:
            cls.sshd.stop()
        cls.i.close()

    # -- helpers --
    @classmethod
    def cli(cls, *args, stdin=None):
        return subprocess.run(
            [harness.TESSERA, "--ca-file", cls.ca] + list(args),
            input=stdin, capture_output=True, text=True, env=cls.env,
            timeout=120)

    @classmethod
    def cli_login(cls):
        """`tessera login` as the engineer: the session, the key and a
        certificate for every login and target."""
        p = cls.cli("--server", "https://127.0.0.1:%d" % cls.i.port,
                    "login", "--user", USER, "--password-stdin",
                    "--code-stdin",
                    stdin="%s\n%s\n" % (cls.acct.password,
                                        cls.acct.next_code()))
        assert p.returncode == 0, p.stderr

    def serial(self):
        fields, _ = harness.cert_fields(self.id + "-cert.pub")
        return fields["Serial"]

    # -- tests --
    def test_ssh_runs_the_command_as_the_granted_login(self):
        p = self.cli("ssh", "prod/api", "--", "id", "-un")
        self.assertEqual(p.returncode, 0, p.stderr + self.sshd.tail())
        self.assertEqual(p.stdout, LOGIN + "\n")
        with open(self.kh) as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("# tessera host CA of "))
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[1].startswith("@cert-authority * "), lines)
        # Again: the certificate still serves and the host CA is unchanged
        # (If-None-Match -> 304), so neither file is written again.
        serial, inode = self.serial(), os.stat(self.kh).st_ino
        p = self.cli("ssh", "prod/api", "--", "id", "-un")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, LOGIN + "\n")
        self.assertEqual(self.serial(), serial)
        self.assertEqual(os.stat(self.kh).st_ino, inode)
        # A host CA file of another CA (or damaged) is replaced, since its
        # ETag does not match: ssh still connects.
        with open(self.kh, "w") as f:
            f.write("# tessera host CA of https://127.0.0.1:%d etag "
                    "\"0000\"\n@cert-authority * ssh-ed25519 AAAAC3Nza"
                    "C1lZDI1NTE5AAAAIBYQtD0lWVRz0ND1kyAJ51bG0KUSx/bIv"
                    "q8k8bOlt0lV\n" % self.i.port)
        p = self.cli("ssh", "prod/api", "--", "id", "-un")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, LOGIN + "\n")

    def test_a_login_not_granted_is_refused_with_the_servers_message(self):
        with open(self.id + ".pub") as f:
            pub = f.read().strip()
        tok = self.i.login(self.acct)
        st, _, body = self.i.call("POST", "/v1/certs",
                                  {"public_key": pub, "target": "prod/api",
                                   "login": "nobody"}, token=tok)
        self.assertEqual(st, 403, body)
        before = self.serial()
        p = self.cli("ssh", "prod/api", "-l", "nobody", "--", "id", "-un")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertIn(body["error"]["message"], p.stderr)
        self.assertEqual(self.serial(), before, "the certificate is kept")

    def test_several_logins_ask_for_one(self):
        p = self.cli("ssh", "prod/db", "--", "id", "-un")
        self.assertEqual(p.returncode, 1)
        self.assertIn("several logins on prod/db", p.stderr)
        self.assertIn("backup", p.stderr)
        self.assertIn(LOGIN, p.stderr)
        self.assertIn("-l LOGIN", p.stderr)

    def test_no_key_names_the_file_and_ssh_keygen(self):
        p = self.cli("ssh", "prod/api", "-i",
                     os.path.join(self.home, "none"), "--", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn(os.path.join(self.home, "none"), p.stderr)
        self.assertIn("ssh-keygen -t ed25519", p.stderr)

    def test_ssh_config_works_with_plain_ssh(self):
        self.cli_login()        # a certificate for every target again
        p = self.cli("ssh-config")
        self.assertEqual(p.returncode, 0, p.stderr)
        for host in ("Host prod-api\n", "Host demo-app\n",
                     "Host prod-db-backup\n", "Host prod-db-%s\n" % LOGIN):
            self.assertIn(host, p.stdout)
        self.assertIn("tessera login", p.stdout)
        conf = os.path.join(self.home, "ssh_config")
        with open(conf, "w") as f:
            f.write(p.stdout)
        s = subprocess.run(["ssh", "-F", conf, "-o", "BatchMode=yes",
                            "-o", "ConnectTimeout=10", "prod-api", "id",
                            "-un"], capture_output=True, text=True,
                           timeout=60, env=self.env)
        self.assertEqual(s.returncode, 0, s.stderr + self.sshd.tail())
        self.assertEqual(s.stdout, LOGIN + "\n")

    def test_dry_run_shows_the_gateway_argv(self):
        p = self.cli("ssh", "demo/app", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(shlex.split(p.stdout), [
            "ssh", "-i", self.id,
            "-o", "CertificateFile=%s-cert.pub" % self.id,
            "-o", "IdentitiesOnly=yes",
            "-o", "UserKnownHostsFile=" + self.kh,
            "-o", "StrictHostKeyChecking=yes",
            "-o", "HostKeyAlias=gw.example", "-p", "2222",
            "-o", "SetEnv=TESSERA_TARGET=demo/app TESSERA_LOGIN=" + LOGIN,
            "tessera@gw.example"])
        _, principals = harness.cert_fields(self.id + "-cert.pub")
        self.assertIn(LOGIN + "@demo/app", principals)

    def test_without_a_session_it_logs_in_first_on_a_terminal(self):
        home = tempfile.mkdtemp(prefix="home.", dir=self.i.dir)
        os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
        for suffix in ("", ".pub"):
            shutil.copy(self.id + suffix,
                        os.path.join(home, ".ssh", "id_ed25519" + suffix))
        env = dict(self.env, HOME=home)
        # (prompt, answer, asked without echo): a secret is typed only once
        # echo is off, as the prompt flushes what was typed before.
        answers = [("Username", USER, False),
                   ("Password:", self.acct.password, True),
                   ("TOTP code", None, True)]
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(harness.TESSERA, [
                harness.TESSERA, "--ca-file", self.ca, "--server",
                "https://127.0.0.1:%d" % self.i.port, "ssh", "prod/api",
                "--", "id", "-un"], env)
        out, deadline = b"", time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if answers and answers[0][0].encode() in out and not (
                        answers[0][2] and
                        termios.tcgetattr(fd)[3] & termios.ECHO):
                    _, text, _ = answers.pop(0)
                    text = text if text is not None else \
                        self.acct.next_code()
                    os.write(fd, text.encode() + b"\n")
                    out = out.replace(b":", b";")   # answered prompts
                if not select.select([fd], [], [], 1)[0]:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:         # EIO: the child closed the pty
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            reaped = []
            try:
                harness.wait_for(lambda: reaped.append(
                    os.waitpid(pid, os.WNOHANG)) or reaped[-1][0] == pid,
                    "tessera ssh to exit", timeout=15)
                status = reaped[-1][1]
            except AssertionError:
                os.kill(pid, signal.SIGKILL)    # stuck: the test fails
                _, status = os.waitpid(pid, 0)
            os.close(fd)
        text = out.decode(errors="replace")
        self.assertEqual(answers, [], text)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        self.assertIn("Logged in as " + USER, text)
        self.assertEqual(text.splitlines()[-1].strip(), LOGIN, text)
        self.assertTrue(os.path.exists(os.path.join(
            home, ".config", "tessera", "session")))

    def test_an_unsigned_host_key_is_refused(self):
        """The same sshd with its plain host key only: ssh refuses it, as
        tessera's known_hosts trusts only the host CA."""
        other = harness.Sshd(self.i.dir, self.ca_text, self.snippet,
                             name="sshd-unsigned")
        try:
            p = self.cli("ssh", "prod/api", "--dry-run")
            self.assertEqual(p.returncode, 0, p.stderr)
            argv = shlex.split(p.stdout)
            argv[argv.index("-p") + 1] = str(other.port)
            s = subprocess.run(argv[:-1] + ["-o", "BatchMode=yes",
                                            argv[-1], "true"],
                               capture_output=True, text=True, timeout=60,
                               env=self.env)
            self.assertEqual(s.returncode, 255)
            self.assertIn("Host key verification failed", s.stderr)
        finally:
            other.stop()


if __name__ == "__main__":
    unittest.main()
