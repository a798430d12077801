"""Two tesserad instances on one PostgreSQL database (issue 19), for the
multi-instance tests: a temporary cluster (tests/lib/pgcluster.py), an
instance and its peer (same store, keys and config, their own data
directories and audit.log files), an admin, the policy of
Instance.issuer() (prod/api, role ops, a bound user) and a key to certify;
plus clients issuing in a loop (Load), threads that race behind a
barrier, round after round (Racers), and a test case with a Pair and
racers sending at both instances at once (RaceCase)."""

import http.client
import os
import pwd
import subprocess
import sys
import threading
import time
import unittest

import harness
from test_bad_inputs import fresh_addr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "lib"))
import pgcluster  # noqa: E402

LOGIN = pwd.getpwuid(os.geteuid()).pw_name
B_APP = "tessera-b"     # application_name of b's connections
# Logins per address and instance before the per-address limit (20 at
# once, then one per 3 s) could answer instead of what is tested.
PER_ADDRESS = 15


class Pair:
    """A cluster, instances a and b on its database "tessera", started,
    with an admin session (admin) and a user "probe" bound to ops (tok,
    pub).  env: more environment for both instances.  b's connections
    carry application_name B_APP (pg_stat_activity tells them apart)."""

    def __init__(self, env=None):
        self.cluster, self.a, self.b = pgcluster.Cluster(), None, None
        try:
            self.cluster.start()
            self.uri = self.cluster.createdb("tessera")
            self.a = harness.Instance(store=self.uri)
            self.b = self.a.peer()
            self.b.env["TESSERA_STORE"] = (self.uri + "&application_name="
                                           + B_APP)
            for i in (self.a, self.b):
                i.env.update(env or {})
                i.start()
            self.admin_acct, self.admin = self.a.admin()
            _, self.tok, self.pub = self.a.issuer(self.admin, "probe", LOGIN)
        except BaseException:
            self.close()
            raise

    def both(self):
        return (self.a, self.b)

    def close(self):
        for i in (self.b, self.a):
            if i is not None:
                i.close()
        self.cluster.cleanup()


def cert_body(pub):
    return {"public_key": pub, "target": "prod/api", "login": LOGIN,
            "ttl": 600}


class Load:
    """clients threads issuing certificates with token in a loop, client k
    at insts[k % len(insts)], each over a connection of its own, until
    stop() or until limit certificates came back.  Every answer is kept:
    (instance index, status or None for a transport error, start and end
    time (monotonic), body)."""

    def __init__(self, insts, clients, token, pub, limit=None):
        self.insts, self.token, self.body = insts, token, cert_body(pub)
        self.limit, self.lock = limit, threading.Lock()
        self.halt, self.log, self.n201 = threading.Event(), [], 0
        self.threads = [threading.Thread(target=self.client,
                                         args=(k % len(insts),))
                        for k in range(clients)]
        for t in self.threads:
            t.start()

    def client(self, which):
        inst, conn = self.insts[which], None
        while not self.halt.is_set():
            if self.limit is not None and self.n201 >= self.limit:
                break
            if conn is None:
                conn = inst.conn()
            t0 = time.monotonic()
            try:
                st, _, b = inst.call("POST", "/v1/certs", self.body,
                                     token=self.token, conn=conn)
            except (OSError, ValueError, http.client.HTTPException) as e:
                st, b = None, repr(e)
                conn.close()
                conn = None
            with self.lock:
                self.log.append((which, st, t0, time.monotonic(), b))
                self.n201 += st == 201
            if st is None and (inst.proc is None or
                               inst.proc.poll() is not None):
                break           # that instance is gone
        if conn is not None:
            conn.close()

    def answers(self, which=None, since=0.0):
        with self.lock:
            return [e for e in self.log if (which is None or
                                            e[0] == which) and e[2] >= since]

    def serials(self, which=None):
        return [e[4]["serial"] for e in self.answers(which) if e[1] == 201]

    def count(self, which=None, since=0.0, status=201):
        return sum(1 for e in self.answers(which, since) if e[1] == status)

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "a client hangs"


class Racers:
    """n threads that, each round, run prep(k) (a connection, say), then
    wait for one another and run go(k, prepared) at once.  run() returns
    the n results (an exception is returned as such)."""

    def __init__(self, n, timeout=120):
        self.n, self.job = n, None
        self.begin = threading.Barrier(n + 1, timeout=timeout)
        self.race = threading.Barrier(n, timeout=timeout)
        self.end = threading.Barrier(n + 1, timeout=timeout)
        self.results = [None] * n
        self.threads = [threading.Thread(target=self.worker, args=(k,),
                                         daemon=True) for k in range(n)]
        for t in self.threads:
            t.start()

    def worker(self, k):
        while True:
            self.begin.wait()
            if self.job is None:
                return
            prep, go = self.job
            p, err = None, None
            try:
                p = prep(k) if prep is not None else None
            except Exception as e:  # noqa: B902 - returned to the test
                err = e
            self.race.wait()        # even after a failed prep
            try:
                self.results[k] = err or go(k, p)
            except Exception as e:  # noqa: B902 - returned to the test
                self.results[k] = e
            self.end.wait()

    def run(self, go, prep=None):
        self.job = (prep, go)
        self.begin.wait()
        self.end.wait()
        return list(self.results)

    def close(self):
        self.job = None
        try:
            self.begin.wait()
        except threading.BrokenBarrierError:
            pass
        for t in self.threads:
            t.join(30)


class RaceCase(unittest.TestCase):
    """A Pair for the class (ENV: more environment for both instances)
    and Racers of each size in RACERS, run by race()."""

    ENV = {}
    RACERS = (2,)

    @classmethod
    def setUpClass(cls):
        cls.p = Pair(env=cls.ENV)
        cls.racers = {n: Racers(n) for n in cls.RACERS}
        cls.conns = {}

    @classmethod
    def tearDownClass(cls):
        for c, _ in cls.conns.values():
            c.close()
        for r in cls.racers.values():
            r.close()
        cls.p.close()

    def race(self, n, path, body, token=None):
        """POST body to path from n racers at once, racer k at instance
        k % 2, each over its connection: the (status, headers, body)
        answers."""
        racers, insts = self.racers[n], self.p.both()

        def prep(k):
            return self.conn(racers, k, insts[k % 2])

        def go(k, conn):
            return insts[k % 2].call("POST", path, body, token=token,
                                     conn=conn)
        answers = racers.run(go, prep)
        for x in answers:
            if isinstance(x, BaseException):
                raise x
        return answers

    def conn(self, racers, k, inst):
        """Racer k's connection, open before the race; from a new
        loopback address every PER_ADDRESS requests."""
        c, used = self.conns.get((racers, k), (None, PER_ADDRESS))
        if used >= PER_ADDRESS:
            if c is not None:
                c.close()
            c, used = http.client.HTTPSConnection(
                "127.0.0.1", inst.port, context=inst.ctx, timeout=60,
                source_address=(fresh_addr(), 0)), 0
            c.connect()
        self.conns[(racers, k)] = (c, used + 1)
        return c


def audit_file(inst):
    """inst's audit.log: (event lines, checkpoint lines), as bytes.  Each
    instance signs its own checkpoints, at its own times."""
    events, ckpts = [], []
    with open(os.path.join(inst.dir, "audit.log"), "rb") as f:
        for ln in f:
            (ckpts if ln.startswith(b'{"type":"checkpoint"') else
             events).append(ln)
    return events, ckpts


def verify_offline(location, *extra):
    """tessera audit verify --data location [extra...]: the number of
    events it found intact."""
    p = subprocess.run([harness.TESSERA, "audit", "verify", "--data",
                        location] + list(extra), capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    m = harness.re.search(r"intact: (\d+) events", p.stdout)
    assert m, p.stdout
    return int(m.group(1))
