#!/usr/bin/env python3
"""A temporary PostgreSQL cluster for tests.

initdb and pg_ctl in a fresh temp dir, listening only on a unix socket in
that dir (listen_addresses=''), fsync on; run as an unprivileged user when
started as root.  Everything is stopped and removed at exit, also on
failure.

    c = Cluster().start()
    c.createdb("t1"); uri = c.uri("t1")   # postgresql:///t1?host=...
    s = c.add_standby(sync=True)          # streaming, pg_basebackup -R
    c.kill(); s.promote()
    uri_multi("t1", [c, s])               # both hosts, read-write one wins

A standby that lost commits (asynchronous and behind): add_standby(
sync=False), s.stop(), commit on the primary, c.kill(), s.start(),
s.promote().

As a wrapper (meson tests): pgcluster.py run -- CMD ARGS... starts one
cluster, exports TESSERA_TEST_PG (a URI of database postgres on it),
runs CMD and returns its status (TESSERA_TEST_PG_BIN: the PostgreSQL programs); a test may stop
and start that cluster with pgcluster.py ctl stop|start.  pgcluster.py
selftest checks a standby and its promotion.
"""
import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

READY_TIMEOUT = 30.0


def bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise RuntimeError("no PostgreSQL in /usr/lib/postgresql/*/bin")
    return dirs[-1]


def _runas():
    """The user the server runs as: ourselves, or postgres/nobody as root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise RuntimeError("running as root and no unprivileged user")


class Cluster:
    """One server: a data dir and a socket dir under one temp dir."""

    def __init__(self, port=5432, _base=None):
        self.bin = bindir()
        self.user = _runas()
        self.port = port
        self.base = _base or tempfile.mkdtemp(prefix="tessera-pg.")
        self.data = os.path.join(self.base, "data")
        self.sock = self.base
        self.standbys = []
        self.running = False
        if self.user is not None:
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        if _base is None:
            atexit.register(self.cleanup)

    def _cmd(self, prog, *args, check=True, timeout=120):
        argv = [os.path.join(self.bin, prog)] + list(args)
        if self.user is not None:
            argv = ["setpriv", "--reuid=%d" % self.user.pw_uid,
                    "--regid=%d" % self.user.pw_gid, "--clear-groups",
                    "--"] + argv
        return subprocess.run(argv, check=check, timeout=timeout,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=self.base,
                              text=True)

    def _conf(self, text, name="postgresql.conf"):
        with open(os.path.join(self.data, name), "a") as f:
            f.write(text)

    def init(self):
        self._cmd("initdb", "-D", self.data, "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-locale")
        self._conf("listen_addresses = ''\n"
                   "unix_socket_directories = '%s'\n"
                   "port = %d\nfsync = on\nmax_connections = 200\n"
                   "wal_level = replica\nmax_wal_senders = 10\n"
                   "hot_standby = on\n" % (self.sock, self.port))
        return self

    def start(self):
        if not os.path.exists(self.data):
            self.init()
        r = self._cmd("pg_ctl", "-D", self.data, "-l",
                      os.path.join(self.base, "log"), "-w", "-t",
                      str(int(READY_TIMEOUT)), "start", check=False)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: %s\n%s" %
                               (r.stdout, self.log()))
        self.running = True
        self.wait_ready()
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q",
                                "-h", self.sock, "-p", str(self.port)])
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("PostgreSQL not ready in %ss:\n%s" %
                           (timeout, self.log()))

    def log(self):
        try:
            with open(os.path.join(self.base, "log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def uri(self, db="postgres"):
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (
            db, self.sock, self.port)

    def psql(self, sql, db="postgres"):
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-A",
                            "-t", "-v", "ON_ERROR_STOP=1", "-d",
                            self.uri(db), "-c", sql], check=True,
                           stdout=subprocess.PIPE, text=True, timeout=60)
        return r.stdout.strip()

    def createdb(self, name):
        subprocess.run([os.path.join(self.bin, "createdb"),
                        "--maintenance-db=" + self.uri(), name],
                       check=True, timeout=60)
        return self.uri(name)

    def pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self, mode="fast"):
        if self.running:
            self._cmd("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop",
                      check=False)
            self.running = False

    def _children(self, pid):
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d))
        return kids

    def kill(self):
        """SIGKILL the postmaster and its children: a crash."""
        if not self.running:
            return
        self.running = False
        try:
            pid = self.pid()
        except (OSError, ValueError):
            return
        procs = [pid] + self._children(pid)
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        end = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < end and any(
                os.path.exists("/proc/%d/stat" % p) and
                open("/proc/%d/stat" % p).read().split(") ")[1][0] != "Z"
                for p in procs):
            time.sleep(0.02)

    def add_standby(self, sync=True, name=None):
        """A streaming standby of this cluster, started; sync: the primary
        waits for it at every commit (synchronous_standby_names)."""
        name = name or "standby%d" % (len(self.standbys) + 1)
        base = tempfile.mkdtemp(prefix="tessera-pg.")
        sb = Cluster(port=self.port, _base=base)
        self.standbys.append(sb)
        subprocess.run(["chmod", "0700", base], check=True)
        if sb.user is not None:
            os.chown(base, sb.user.pw_uid, sb.user.pw_gid)
        sb._cmd("pg_basebackup", "-D", sb.data, "-R", "-X", "stream",
                "-h", self.sock, "-p", str(self.port), "-U", "postgres",
                "-c", "fast")
        sb._conf("unix_socket_directories = '%s'\n" % sb.sock)
        # After what pg_basebackup -R wrote there, so it wins.
        sb._conf("primary_conninfo = 'host=%s port=%d user=postgres "
                 "application_name=%s'\n" % (self.sock, self.port, name),
                 "postgresql.auto.conf")
        sb.start()
        if sync:
            self.psql("ALTER SYSTEM SET synchronous_standby_names = '%s'"
                      % name)
            self.psql("SELECT pg_reload_conf()")
            end = time.monotonic() + READY_TIMEOUT
            while self.psql("SELECT count(*) FROM pg_stat_replication "
                            "WHERE application_name = '%s' AND "
                            "sync_state = 'sync'" % name) != "1":
                if time.monotonic() > end:
                    raise RuntimeError("standby %s never in sync" % name)
                time.sleep(0.05)
        return sb

    def promote(self):
        self._cmd("pg_ctl", "-D", self.data, "-w", "promote")
        end = time.monotonic() + READY_TIMEOUT
        while self.psql("SELECT pg_is_in_recovery()") != "f":
            if time.monotonic() > end:
                raise RuntimeError("promotion did not finish")
            time.sleep(0.05)

    def cleanup(self):
        for sb in self.standbys:
            sb.cleanup()
        self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def uri_multi(db, clusters):
    """One URI naming every cluster's socket (libpq tries them in order;
    the store adds target_session_attrs=read-write)."""
    return "postgresql:///%s?host=%s&port=%s&user=postgres" % (
        db, ",".join(c.sock for c in clusters),
        ",".join(str(c.port) for c in clusters))


def _run(argv):
    c = Cluster()
    try:
        c.start()
        env = dict(os.environ)
        env["TESSERA_TEST_PG"] = c.uri()
        env["TESSERA_TEST_PG_BIN"] = c.bin
        env["TESSERA_TEST_PG_BASE"] = c.base
        env["TESSERA_TEST_PGCLUSTER"] = os.path.abspath(__file__)
        return subprocess.call(argv, env=env)
    finally:
        c.cleanup()


def _ctl(what):
    """Stop or start the cluster of the enclosing run (a test's child)."""
    c = Cluster(_base=os.environ["TESSERA_TEST_PG_BASE"])
    if what == "stop":
        c.running = True
        c.stop()
    elif what == "start":
        c.start()
    else:
        raise SystemExit("pgcluster.py ctl stop|start")
    return 0


def _selftest():
    c = Cluster().start()
    try:
        c.createdb("t")
        c.psql("CREATE TABLE x (v int); INSERT INTO x VALUES (1)", "t")
        sb = c.add_standby(sync=True)
        c.psql("INSERT INTO x VALUES (2)", "t")
        # Synchronous: committed on the primary means flushed on the
        # standby (applied a moment later).
        _wait(lambda: sb.psql("SELECT count(*) FROM x", "t") == "2")
        assert sb.psql("SELECT pg_is_in_recovery()") == "t"
        c.kill()
        sb.promote()
        sb.psql("INSERT INTO x VALUES (3)", "t")
        assert sb.psql("SELECT sum(v) FROM x", "t") == "6"
    finally:
        c.cleanup()
    # Asynchronous and behind: the promoted standby lacks a commit.
    c = Cluster().start()
    try:
        c.createdb("t")
        c.psql("CREATE TABLE x (v int); INSERT INTO x VALUES (1)", "t")
        sb = c.add_standby(sync=False)
        _wait(lambda: sb.psql("SELECT count(*) FROM x", "t") == "1")
        sb.stop()
        c.psql("INSERT INTO x VALUES (2)", "t")
        c.kill()
        sb.start()
        sb.promote()
        assert sb.psql("SELECT sum(v) FROM x", "t") == "1"
    finally:
        c.cleanup()
    print("pgcluster selftest: ok")
    return 0


def _wait(cond):
    end = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            if cond():
                return
        except subprocess.CalledProcessError:
            pass
        if time.monotonic() > end:
            raise RuntimeError("condition not met in time")
        time.sleep(0.05)


def _signalled(signum, frame):
    sys.exit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _signalled)
    if len(sys.argv) >= 3 and sys.argv[1] == "run" and sys.argv[2] == "--":
        sys.exit(_run(sys.argv[3:]))
    if len(sys.argv) == 3 and sys.argv[1] == "ctl":
        sys.exit(_ctl(sys.argv[2]))
    if sys.argv[1:] == ["selftest"]:
        sys.exit(_selftest())
    sys.stderr.write("usage: pgcluster.py run -- CMD... | selftest\n")
    sys.exit(2)
