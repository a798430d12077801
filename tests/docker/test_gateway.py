"""The SSH gateway (issue 17) against a real dockerd: `tessera gateway
shell` run on the host as sshd's ForceCommand would run it, with
SSH_USER_AUTH naming a file that holds a real certificate (ssh-keygen -s),
into plain `docker run` containers from the local debian:12-slim image
labelled tessera.target=<target>: the login is the one granted, the
certificate's force-command wins over the requested command, exit codes
and stdin pass through, a pty carries the terminal size, and no labelled
container, two of them, or a principal for another target are refused
with the documented messages.  Then the same through a real sshd on
127.0.0.1 configured with the gateway's lines (AuthorizedPrincipalsCommand
running `tessera gateway principals`, ExposeAuthInfo, ForceCommand) and a
real ssh client.

Starts dockerd when it is not running (and stops only the one it
started); every container is named after one random prefix and removed
at the end.  Waits are bounded polls."""

import os
import pty
import pwd
import secrets
import select
import shutil
import socket
import struct
import subprocess
import tempfile
import termios
import fcntl
import unittest

from dockerlib import (base_image, docker, harness, remove_containers,
                       start_dockerd, stop_dockerd)

PREFIX = "tssgw" + secrets.token_hex(3)
IMAGE = "debian:12-slim"
# Targets of this run only, so no other container on the node matches.
APP, TWO, NONE = PREFIX + "/app", PREFIX + "/two", PREFIX + "/none"
TESSERA = os.path.abspath(harness.TESSERA)


class Gateway(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dockerd = None
        cls.dir = tempfile.mkdtemp(prefix="tessera-gateway.")
        cls.sshd = None
        try:
            cls.up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def up(cls):
        cls.dockerd = start_dockerd(cls.dir)
        base_image()
        cls.ca, _ = harness.ssh_keypair(cls.dir, "ca")
        cls.key, _ = harness.ssh_keypair(cls.dir, "user")
        cls.certs = {}
        cls.sign("multi", "root@%s,nobody@%s,root@%s,root@%s" %
                 (APP, APP, TWO, NONE))
        cls.sign("one", "nobody@" + APP)
        cls.sign("forced", "root@" + APP, "force-command=id -un; "
                 "echo \"forced, asked: $SSH_ORIGINAL_COMMAND\"")
        cls.sign("nothing", "root," + APP)
        for name, target in (("app", APP), ("two1", TWO), ("two2", TWO),
                             ("plain", None)):
            args = ["run", "-d", "--rm", "--name", PREFIX + "-" + name]
            if target:
                args += ["--label", "tessera.target=" + target]
            docker(*(args + [IMAGE, "sleep", "900"]))

    @classmethod
    def sign(cls, name, principals, option=None):
        """A certificate for the user key; its "TYPE BASE64" text."""
        key = os.path.join(cls.dir, name)
        shutil.copy(cls.key + ".pub", key + ".pub")
        args = ["ssh-keygen", "-q", "-s", cls.ca, "-I", "alice:" + name,
                "-z", str(len(cls.certs) + 1), "-n", principals]
        if option:
            args += ["-O", option]
        harness.run(args + [key + ".pub"])
        with open(key + "-cert.pub") as f:
            cls.certs[name] = " ".join(f.read().split()[:2])
        shutil.copy(cls.key, key)
        os.chmod(key, 0o600)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "sshd", None) is not None:
            cls.sshd.terminate()
            cls.sshd.wait(timeout=10)
        remove_containers(PREFIX)
        stop_dockerd(cls.dockerd)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def shell(self, cert, command=None, target=None, login=None, data=b"",
              **kw):
        """`tessera gateway shell` as sshd's ForceCommand runs it."""
        auth = os.path.join(self.dir, "auth-" + secrets.token_hex(4))
        with open(auth, "w") as f:
            f.write("publickey %s\n" % self.certs[cert])
        env = {"PATH": os.environ["PATH"], "SSH_USER_AUTH": auth}
        for k, v in (("SSH_ORIGINAL_COMMAND", command),
                     ("TESSERA_TARGET", target), ("TESSERA_LOGIN", login)):
            if v is not None:
                env[k] = v
        try:
            return subprocess.run([TESSERA, "gateway", "shell"], env=env,
                                  input=data, capture_output=True,
                                  timeout=60, **kw)
        finally:
            os.unlink(auth)

    def refused(self, p, message):
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(p.stderr.decode(),
                         "tessera gateway: %s\n" % message)

    def test_login_is_the_one_granted(self):
        for login in ("root", "nobody"):
            p = self.shell("multi", "id -un", APP, login)
            self.assertEqual((p.returncode, p.stdout), (0, login.encode() +
                                                        b"\n"), p.stderr)
        p = self.shell("one", "id -un")    # one principal: no env needed
        self.assertEqual(p.stdout, b"nobody\n", p.stderr)

    def test_force_command_wins(self):
        p = self.shell("forced", "echo requested")
        self.assertEqual(p.stdout, b"root\nforced, asked: echo requested\n",
                         p.stderr)

    def test_exit_code_stdout_stderr(self):
        p = self.shell("one", "echo out; echo err >&2; exit 7")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (7, b"out\n", b"err\n"))
        p = self.shell("one", "kill -9 $$")
        self.assertEqual(p.returncode, 137)

    def test_stdin_reaches_the_command(self):
        data = os.urandom(300000)
        p = self.shell("one", "cat", data=data)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout == data, "cat gave back %d bytes of %d" %
                        (len(p.stdout), len(data)))
        p = self.shell("one", data=b"id -un\nexit 4\n")   # login shell
        self.assertEqual((p.returncode, p.stdout), (4, b"nobody\n"))

    def test_refusals(self):
        self.refused(self.shell("multi", "id", NONE, "root"),
                     "no container for target %s on this node" % NONE)
        self.refused(self.shell("multi", "id", TWO, "root"),
                     "target %s is ambiguous on this node: "
                     "2 containers" % TWO)
        self.refused(self.shell("one", "id", "prod/api", "nobody"),
                     "certificate does not grant nobody@prod/api")
        self.refused(self.shell("one", "id", APP, "root"),
                     "certificate does not grant root@" + APP)
        self.refused(self.shell("multi", "id"),
                     "certificate grants 4 login@target principals: set "
                     "TESSERA_TARGET and TESSERA_LOGIN to choose one")
        self.refused(self.shell("nothing", "id"),
                     "certificate grants no login@target")
        p = subprocess.run([TESSERA, "gateway", "shell"], timeout=30,
                           env={"PATH": os.environ["PATH"]},
                           capture_output=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"ExposeAuthInfo", p.stderr)

    def test_pty(self):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 33, 99, 0, 0))
        auth = os.path.join(self.dir, "auth-pty")
        with open(auth, "w") as f:
            f.write("publickey %s\n" % self.certs["one"])
        env = {"PATH": os.environ["PATH"], "SSH_USER_AUTH": auth,
               "TERM": "xterm", "SSH_ORIGINAL_COMMAND":
               # The size comes with the exec (API 1.42+) or just
               # after its start (resize): wait for it, bounded.
               "tty; i=0; while [ \"$(stty size)\" = '0 0' ] && "
               "[ $i -lt 1000 ]; do i=$((i+1)); sleep 0.01; done; "
               "stty size; echo $TERM; exit 5"}
        p = subprocess.Popen([TESSERA, "gateway", "shell"], env=env,
                             stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
        os.close(slave)
        out = b""
        try:
            while True:
                r, _, _ = select.select([master], [], [], 30)
                self.assertTrue(r, "no output from the pty in 30 s")
                try:
                    chunk = os.read(master, 4096)
                except OSError:         # EIO: the last slave fd closed
                    break
                if not chunk:
                    break
                out += chunk
            self.assertEqual(p.wait(timeout=30), 5)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
        text = out.decode(errors="replace")
        self.assertRegex(text, r"/dev/pts/\d+\r\n33 99\r\nxterm\r\n")


    @classmethod
    def start_sshd(cls):
        """sshd with the gateway's lines (as `tessera target agent
        --gateway` writes them), logging in as this test's own user."""
        d = os.path.join(cls.dir, "sshd")
        os.makedirs(d)
        os.makedirs("/run/sshd", exist_ok=True)
        host, _ = harness.ssh_keypair(d, "host")
        shutil.copy(cls.ca + ".pub", os.path.join(d, "user_ca.pub"))
        cls.port = harness.free_port()
        me = pwd.getpwuid(os.getuid()).pw_name
        lines = ["ListenAddress 127.0.0.1:%d" % cls.port,
                 "HostKey " + host, "PidFile none", "UsePAM no",
                 "StrictModes no", "LogLevel VERBOSE",
                 "TrustedUserCAKeys %s/user_ca.pub" % d,
                 "AuthorizedKeysFile none",
                 "PasswordAuthentication no",
                 "KbdInteractiveAuthentication no",
                 "PermitRootLogin prohibit-password",
                 "AuthorizedPrincipalsCommand %s gateway principals %%t %%k"
                 % TESSERA,
                 "AuthorizedPrincipalsCommandUser nobody",
                 "AllowUsers " + me, "ExposeAuthInfo yes",
                 "ForceCommand %s gateway shell" % TESSERA,
                 "AcceptEnv TESSERA_TARGET TESSERA_LOGIN",
                 "DisableForwarding yes", "PermitTTY yes",
                 "PermitUserRC no"]
        if os.environ.get("DOCKER_HOST"):
            lines.append("SetEnv DOCKER_HOST=" + os.environ["DOCKER_HOST"])
        config = os.path.join(d, "sshd_config")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        cls.sshd_log = os.path.join(d, "sshd.log")
        log = open(cls.sshd_log, "ab")
        cls.sshd = subprocess.Popen([harness.SSHD, "-D", "-e", "-f", config],
                                    stdout=log, stderr=log)
        log.close()

        def up():
            if cls.sshd.poll() is not None:
                raise AssertionError("sshd exited: " + cls.sshd_tail())
            try:
                with socket.create_connection(("127.0.0.1", cls.port), 1):
                    return True
            except OSError:
                return False
        harness.wait_for(up, "sshd on port %d" % cls.port)
        return me

    @classmethod
    def sshd_tail(cls):
        with open(cls.sshd_log, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def ssh(self, cert, command, target=None, login=None, data=b"",
            tty=False):
        key = os.path.join(self.dir, cert)
        args = ["ssh", "-F", "/dev/null"] + (["-tt"] if tty else []) + [
                "-i", key, "-o",
                "CertificateFile=" + key + "-cert.pub", "-o",
                "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                "-p", str(self.port)]
        env = [k + "=" + v for k, v in (("TESSERA_TARGET", target),
                                        ("TESSERA_LOGIN", login)) if v]
        if env:
            args += ["-o", "SetEnv=" + " ".join(env)]
        return subprocess.run(args + [self.me + "@127.0.0.1", "--",
                                      command], input=data,
                              capture_output=True, timeout=60)

    def test_through_sshd(self):
        # sshd runs an AuthorizedPrincipalsCommand only from a path that
        # root owns and nobody else can write, every directory up to /.
        path = TESSERA
        while path != "/":
            st = os.stat(path)
            if st.st_uid != 0 or st.st_mode & 0o022:
                self.skipTest("sshd refuses %s as a command path (owner "
                              "or mode of %s)" % (TESSERA, path))
            path = os.path.dirname(path)
        type(self).me = self.start_sshd()
        p = self.ssh("multi", "id -un", APP, "nobody")
        self.assertEqual((p.returncode, p.stdout), (0, b"nobody\n"),
                         p.stderr.decode() + self.sshd_tail())
        p = self.ssh("forced", "echo requested")
        self.assertEqual(p.stdout, b"root\nforced, asked: echo requested\n",
                         p.stderr)
        p = self.ssh("one", "cat; exit 3", data=b"through sshd\n")
        self.assertEqual((p.returncode, p.stdout), (3, b"through sshd\n"))
        p = self.ssh("one", "tty; exit 6", tty=True)
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertRegex(p.stdout, rb"^/dev/pts/\d+\r\n")
        p = self.ssh("one", "id", "prod/api", "nobody")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"certificate does not grant nobody@prod/api",
                      p.stderr)
        p = self.ssh("multi", "id", TWO, "root")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"is ambiguous on this node: 2 containers", p.stderr)
        # No login@target principal: sshd itself refuses the certificate.
        p = self.ssh("nothing", "id")
        self.assertEqual(p.returncode, 255, p.stderr)
        self.assertIn(b"Permission denied", p.stderr)


if __name__ == "__main__":
    unittest.main()
