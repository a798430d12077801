"""Integration harness: a real tesserad on 127.0.0.1, real TLS, real
oathtool, ssh-keygen, sshd and ssh.  Every process is started by the test
and stopped by pid; every file lives in a temporary directory."""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BUILD = os.environ.get("TESSERA_BUILD_DIR", "build")
TESSERA = os.path.join(BUILD, "tessera")
TESSERAD = os.path.join(BUILD, "tesserad")
SSHD = "/usr/sbin/sshd"


def wait_for(pred, what, timeout=20.0, step=0.05):
    """Poll pred() until it returns something truthy, at most timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp(secret, at=None):
    args = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        args += ["-N", "@%d" % at]
    return run(args).strip()


class Account:
    """Password, TOTP secret, recovery codes and the last TOTP step used."""

    def __init__(self, name, password):
        self.name = name
        self.password = password
        self.secret = None
        self.recovery = []
        self.last_step = 0

    def next_code(self):
        """A code not used before: the current step or the next, else a
        recovery code (a step is accepted once, and only ascending).  Never
        the previous step: a request crossing a step boundary would arrive
        at T-2."""
        now = int(time.time())
        for step in (now // 30, now // 30 + 1):
            if step > self.last_step:
                self.last_step = step
                return totp(self.secret, step * 30 + 1)
        return self.recovery.pop()


class Instance:
    """A tesserad with its own data directory.  store: a postgresql://
    URI (an empty database) for the PostgreSQL backend; None is LMDB in
    the data directory, or, when TESSERA_TEST_PG names a server (the
    integration-pg-* runs, tests/lib/pgcluster.py), a fresh database on
    it."""

    def __init__(self, fast=True, store=None, peer_of=None):
        self.dir = tempfile.mkdtemp(prefix="tessera-it.")
        self.data = os.path.join(self.dir, "data")
        if peer_of is not None:
            # Another instance on the same store, keys and config; only
            # the data directory (cursor, port file) is its own.
            os.mkdir(self.data, 0o700)
            self.store = peer_of.store
            self.admin_token = peer_of.admin_token
            self.conf = peer_of.conf
            self.cafile = peer_of.cafile
        else:
            if store is None and os.environ.get("TESSERA_TEST_PG"):
                store = pg_fresh_database()
            self.store = store
            args = [TESSERA, "init", "--data", self.data, "--dev",
                    "--admin", "admin"]
            if store is not None:
                args += ["--store", store]
            out = run(args)
            m = re.search(r"^https://\S+/enroll#token=([0-9a-f]{64})$",
                          out, re.M)
            assert m, "no enrollment link in: " + out
            self.admin_token = m.group(1)
            self.conf = os.path.join(self.data, "tesserad.conf")
            self.cafile = os.path.join(self.data, "tls.crt")
        self.env = dict(os.environ, TESSERA_LISTEN="127.0.0.1:0",
                        TESSERA_AUDIT_LOG=os.path.join(self.dir, "audit.log"))
        if peer_of is not None:
            self.env["TESSERA_DATA_DIR"] = self.data
        if fast:
            self.env.update(TESSERA_ARGON2_MEMORY_KIB="1024",
                            TESSERA_ARGON2_TIME="1")
        self.ctx = ssl.create_default_context(cafile=self.cafile)
        self.proc = None
        self.port = None
        self.log = None
        self.wrap = []          # a command tesserad runs under (unshare)

    # -- process --
    def start(self, stderr=None):
        """Start tesserad; its stdout and stderr go to tesserad.log, or
        stderr to the file object given."""
        portfile = os.path.join(self.data, "tesserad.port")
        if os.path.exists(portfile):
            os.unlink(portfile)
        self.log = open(os.path.join(self.dir, "tesserad.log"), "ab")
        self.proc = subprocess.Popen(
            self.wrap + [TESSERAD, "--config", self.conf],
            env=self.env, stdout=self.log, stderr=stderr or self.log)

        def port():
            if self.proc.poll() is not None:
                raise AssertionError("tesserad exited %d: %s" % (
                    self.proc.returncode, self.tail()))
            try:
                with open(portfile) as f:
                    return int(f.read())
            except (OSError, ValueError):
                return None
        self.port = wait_for(port, "tesserad.port")
        wait_for(lambda: self.healthy(), "/healthz")

    def peer(self, fast=True):
        """A second instance sharing this one's store (PostgreSQL)."""
        assert self.store is not None, "peers need a shared store"
        return Instance(fast=fast, peer_of=self)

    def healthy(self):
        try:
            return self.call("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=15)
        self.proc = None
        self.log.close()
        return rc

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self):
        with open(os.path.join(self.dir, "tesserad.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    # -- metrics --
    def metrics_token(self, token="scrape-token.0123456789abcdef"):
        """Give the next start a metrics_token_file (mode 0600) holding
        token, with a trailing newline as `echo` writes it."""
        path = os.path.join(self.dir, "metrics.token")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        self.env["TESSERA_METRICS_TOKEN_FILE"] = path
        self.scrape_token = token
        return token

    def metric(self, name):
        """An unlabelled series of /metrics (after metrics_token() and a
        start)."""
        text = self.ok("GET", "/metrics", token=self.scrape_token).decode()
        m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
        assert m, "no %s in /metrics" % name
        return float(m.group(1))

    def scrape_port(self):
        """The metrics listener's port, from the log line it starts with."""
        def port():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("tesserad exited: " + self.tail())
            with open(os.path.join(self.dir, "tesserad.log"), "rb") as f:
                found = re.findall(rb"metrics \(plain HTTP\) on \S+ port "
                                   rb"(\d+)", f.read())
            return int(found[-1]) if found else None
        return wait_for(port, "the metrics listener's log line")

    def scrape(self, path, port=None, method="GET"):
        """One plain-HTTP request to the metrics listener: (status,
        headers, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", port or
                                       self.scrape_port(), timeout=30)
        try:
            c.request(method, path)
            r = c.getresponse()
            return (r.status, {k.lower(): v for k, v in r.getheaders()},
                    r.read())
        finally:
            c.close()

    # -- HTTP --
    def conn(self):
        return http.client.HTTPSConnection("127.0.0.1", self.port,
                                           context=self.ctx, timeout=30)

    def call(self, method, path, body=None, token=None, headers=None,
             raw=None, conn=None):
        """One request; returns (status, headers, parsed JSON or bytes)."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token is not None:
            h["Authorization"] = "Bearer " + token
        c = conn or self.conn()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            payload = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            if conn is None:
                c.close()
        if hdrs.get("content-type", "").startswith("application/json"):
            payload = json.loads(payload)
        return r.status, hdrs, payload

    def ok(self, method, path, body=None, token=None, want=200, **kw):
        st, _, payload = self.call(method, path, body, token, **kw)
        assert st == want, "%s %s: %d %r (want %d)" % (method, path, st,
                                                       payload, want)
        return payload

    # -- flows --
    def enroll(self, token, name, password):
        acct = Account(name, password)
        r = self.ok("POST", "/v1/enroll/start",
                    {"token": token, "password": password})
        acct.secret = r["totp_secret"]
        assert r["username"] == name
        r = self.ok("POST", "/v1/enroll/finish",
                    {"token": token, "code": acct.next_code()})
        acct.recovery = list(r["recovery_codes"])
        return acct

    def login(self, acct):
        r = self.ok("POST", "/v1/login", {"username": acct.name,
                                          "password": acct.password,
                                          "code": acct.next_code()})
        return r["token"]

    def admin(self):
        acct = self.enroll(self.admin_token, "admin", "correct horse battery")
        return acct, self.login(acct)

    def issuer(self, admin, name, login):
        """Target prod/api, role ops (login on prod/*, max_ttl 1 h) and
        user name bound to it, enrolled and logged in: (account, token,
        an Ed25519 public key line)."""
        self.ok("PUT", "/v1/targets/prod/api", {"labels": {}}, token=admin)
        self.ok("PUT", "/v1/roles/ops",
                {"rules": [{"targets": ["prod/*"], "logins": [login]}],
                 "max_ttl": 3600}, token=admin)
        r = self.ok("POST", "/v1/users", {"username": name, "groups": []},
                    token=admin, want=201)
        acct = self.enroll(r["enroll_token"], name, name + "'s password 1")
        self.ok("POST", "/v1/bindings",
                {"role": "ops", "subject": "user:" + name}, token=admin,
                want=201)
        _, pub = ssh_keypair(self.dir, name)
        return acct, self.login(acct), pub

    def cli_env(self, login):
        """Environment for the CLI with the session of a POST /v1/login
        answer saved in a home of its own."""
        home = tempfile.mkdtemp(prefix="home.", dir=self.dir)
        sess = os.path.join(home, ".config", "tessera")
        os.makedirs(sess, mode=0o700)
        fd = os.open(os.path.join(sess, "session"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"server": "https://127.0.0.1:%d" % self.port,
                       "token": login["token"],
                       "expires_at": login["expires_at"],
                       "username": login.get("username", "admin")}, f)
        return dict(os.environ, HOME=home)

    def tessera(self, *args, check=True):
        p = subprocess.run([TESSERA] + list(args), capture_output=True,
                           text=True)
        if check:
            assert p.returncode == 0, p.stderr
        return p


def pg_fresh_database():
    """A new empty database on the server TESSERA_TEST_PG names (a
    postgresql:// URI of its maintenance database): its URI."""
    base = os.environ["TESSERA_TEST_PG"]
    name = "t%d_%s" % (os.getpid(), os.urandom(4).hex())
    run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", base, "-c",
         "CREATE DATABASE " + name])
    head, _, query = base.partition("?")
    head = head[:head.rindex("/") + 1] + name
    return head + ("?" + query if query else "")


def ssh_keypair(dirpath, name="id_ed25519", kind="ed25519", bits=None):
    path = os.path.join(dirpath, name)
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path]
    if bits:
        args += ["-b", str(bits)]
    run(args)
    with open(path + ".pub") as f:
        return path, f.read().strip()


def cert_fields(certfile):
    """ssh-keygen -L output: {field: value} and {field: [list items]}
    (list items are the lines indented below a field, e.g. Principals)."""
    out = run(["ssh-keygen", "-L", "-f", certfile])
    fields, lists, field, indent = {}, {}, None, None
    for line in out.splitlines()[1:]:
        depth = len(line) - len(line.lstrip())
        if indent is None:
            indent = depth
        if depth > indent and field is not None:
            lists.setdefault(field, []).append(line.strip())
            continue
        field, _, value = line.strip().partition(":")
        fields[field] = value.strip()
    return fields, lists.get("Principals", [])


class Sshd:
    """A real sshd on 127.0.0.1 configured from the broker's snippet; with
    hostkey (a private key file) it presents that key, and with hostcert
    too, that host certificate (HostCertificate)."""

    def __init__(self, workdir, ca_text, snippet, krl=b"", hostkey=None,
                 hostcert=None, name="sshd"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "principals"), exist_ok=True)
        os.makedirs("/run/sshd", exist_ok=True)
        self.port = free_port()
        ca = os.path.join(self.dir, "ca.pub")
        with open(ca, "w") as f:
            f.write(ca_text)
        self.krl = os.path.join(self.dir, "revoked.krl")
        self.set_krl(krl)
        if hostkey is None:
            hostkey = os.path.join(self.dir, "host_ed25519")
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                 hostkey])
        self.principals = parse_principals(snippet)
        for login, principal in self.principals.items():
            self.write_principals(login, principal)
        lines = ["ListenAddress 127.0.0.1:%d" % self.port,
                 "HostKey " + hostkey, "UsePAM no", "StrictModes no",
                 "PidFile none", "AuthorizedKeysFile none",
                 "PermitRootLogin prohibit-password", "LogLevel VERBOSE"]
        if hostcert is not None:
            lines.append("HostCertificate " + hostcert)
        for line in snippet.splitlines():
            if not line or line.startswith("#") or "@" in line:
                continue
            key = line.split()[0]
            if key == "TrustedUserCAKeys":
                line = "TrustedUserCAKeys " + ca
            elif key == "AuthorizedPrincipalsFile":
                line = "AuthorizedPrincipalsFile %s/principals/%%u" % self.dir
            elif key == "RevokedKeys":
                line = "RevokedKeys " + self.krl
            lines.append(line)
        self.config = os.path.join(self.dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.dir, "sshd.log"), "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config],
                                     stdout=self.log, stderr=self.log)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("sshd exited: " + self.tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1):
                    return True
            except OSError:
                return False
        wait_for(up, "sshd on port %d" % self.port)

    def write_principals(self, login, principal):
        with open(os.path.join(self.dir, "principals", login), "w") as f:
            f.write(principal + "\n")

    def set_krl(self, data):
        tmp = self.krl + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.krl)      # atomic: sshd never sees a gap

    def ssh(self, key, user):
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-o", "IdentitiesOnly=yes",
             "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "ConnectTimeout=10", "-i", key, "-o",
             "CertificateFile=" + key + "-cert.pub", "-p", str(self.port),
             user + "@127.0.0.1", "true"],
            capture_output=True, text=True, timeout=60)

    def login(self, key, user):
        return self.ssh(key, user).returncode == 0

    def refused(self, key, user):
        """True when sshd refused the certificate itself (ssh exits 255
        with "Permission denied"), not when a later step failed."""
        p = self.ssh(key, user)
        return p.returncode == 255 and "Permission denied" in p.stderr

    def tail(self):
        with open(os.path.join(self.dir, "sshd.log"), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def parse_principals(snippet):
    """{login: principal} from the AuthorizedPrincipalsFile sections."""
    out, login = {}, None
    for line in snippet.splitlines():
        m = re.match(r"^# /etc/ssh/tessera_principals/([^:]+):$", line)
        if m:
            login = m.group(1)
        elif login and line and not line.startswith("#"):
            out[login] = line.strip()
            login = None
    return out


def canonical(event):
    return json.dumps(event, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def verify_chain(events):
    """Check prev/hash links of consecutive events from seq 1."""
    prev = "0" * 64
    for i, e in enumerate(events, 1):
        assert e["seq"] == i, "seq %d at %d" % (e["seq"], i)
        assert e["prev"] == prev, "event %d: prev does not link" % i
        body = dict(e)
        h = body.pop("hash")
        assert hashlib.sha256(canonical(body).encode()).hexdigest() == h, \
            "event %d: hash mismatch" % i
        prev = h


def all_events(inst, token, after=0):
    """Every audit event after seq after (GET /v1/audit, page by page)."""
    events = []
    while True:
        r = inst.ok("GET", "/v1/audit?after=%d&limit=1000" % after,
                    token=token)
        if not r["events"]:
            return events
        events += r["events"]
        after = events[-1]["seq"]


def b64(data):
    return base64.b64encode(data).decode()
