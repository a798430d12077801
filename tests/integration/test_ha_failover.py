"""Database failover under two tesserad instances (issue 19): real
PostgreSQL clusters started here (tests/lib/pgcluster.py), real tesserad
processes on a multi-host URI (target_session_attrs=read-write).

- Synchronous standby: clients issue through both instances; the primary
  is killed (immediate shutdown), /healthz answers 503 on both until the
  standby is promoted, then issuance succeeds again on both without a
  restart.  Every answer was 201 or 503; every certificate a client got is
  stored with its cert.issue event, seq 1..N has no gap and `tessera audit
  verify --data URI` passes.
- Asynchronous standby kept behind (its WAL receiver detached, so it
  misses the last commits: pausing replay is not enough, a promotion
  replays what was received): the primary is killed, the standby
  promoted; both instances see the write counter go back, refuse writes
  with 503, /healthz says 503 and the log says why.
- Backup under load: `tessera backup --data URI` while clients issue,
  restored into LMDB (verifies), backed up from there and restored into a
  fresh PostgreSQL database (verifies); a tesserad on it serves a login,
  its trail is the source's up to the backup and it holds every
  certificate answered before the backup began."""

import collections
import http.client
import os
import re
import sys
import threading
import time
import unittest

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import pgcluster  # noqa: E402  (tests/lib)

CLIENTS = 4             # two per instance, each its own user
CAP = 900               # certificates per user: GET /v1/certs lists 1000
BOUND = 30.0            # seconds to notice the failure, and to resume


class Load:
    """CLIENTS threads issuing in a loop, client k through instance
    k % 2 as user k; each stops after CAP certificates.  Keeps every
    serial a client got with 201 and counts every status."""

    def __init__(self, insts, users):
        self.insts, self.users = insts, users
        self.got = collections.defaultdict(list)   # user index -> serials
        self.status = collections.Counter()
        self.odd = []                               # neither 201 nor 503
        self.errors = []                            # transport errors
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(k,))
                        for k in range(len(users))]

    def client(self, k):
        inst = self.insts[k % len(self.insts)]
        tok, pub = self.users[k]
        body = {"public_key": pub, "target": "prod/api", "login": "app",
                "ttl": 600}
        while not self.halt.is_set() and len(self.got[k]) < CAP:
            try:
                st, _, b = inst.call("POST", "/v1/certs", body, token=tok)
            except (OSError, ValueError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors.append(repr(e))
                continue
            with self.lock:
                self.status[st] += 1
                if st == 201:
                    self.got[k].append(b["serial"])
                elif st != 503:
                    self.odd.append((st, b))

    def ok(self):
        with self.lock:
            return sum(len(v) for v in self.got.values())

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "client hangs"


def issue_status(inst, tok, pub):
    try:
        st, _, _ = inst.call("POST", "/v1/certs", {
            "public_key": pub, "target": "prod/api", "login": "app",
            "ttl": 600}, token=tok)
    except (OSError, http.client.HTTPException):
        return None
    return st


def healthz(inst):
    try:
        return inst.call("GET", "/healthz")[0]
    except (OSError, http.client.HTTPException):
        return None


class Pair:
    """A primary cluster with one standby, a database on them, and two
    tesserad instances on a multi-host URI naming both."""

    def __init__(self, synchronous):
        self.primary = pgcluster.Cluster()
        self.primary.start()
        self.standby = self.insts = None
        try:
            self.standby = self.primary.add_standby(sync=synchronous)
            self.primary.createdb("tessera")
            self.uri = pgcluster.uri_multi(
                "tessera", [self.primary, self.standby]) + \
                "&target_session_attrs=read-write"
            a = harness.Instance(store=self.uri)
            self.insts = [a, a.peer()]
            for i in self.insts:
                i.start()
            _, self.admin = a.admin()
            self.users = []
            for k in range(CLIENTS + 1):
                _, tok, pub = a.issuer(self.admin, "user%d" % k, "app")
                self.users.append((tok, pub))
        except BaseException:
            self.close()
            raise

    def close(self):
        for i in self.insts or []:
            i.close()
        self.primary.cleanup()         # and its standby

    def replicated(self):
        """The standby's state as the primary sees it: 'sync', 'async'
        or '' when it is not streaming."""
        return self.primary.psql("SELECT sync_state FROM "
                                 "pg_stat_replication WHERE state = "
                                 "'streaming'")

    def fail_over(self):
        """Kill the primary, see both instances report it (503 from
        /healthz and for an issuance), promote the standby."""
        self.primary.kill()
        tok, pub = self.users[CLIENTS]
        for i in self.insts:
            harness.wait_for(lambda: healthz(i) == 503,
                             "/healthz 503 with the primary gone",
                             timeout=BOUND)
            self.assert_status(i, tok, pub, 503)
        self.standby.promote()

    def assert_status(self, inst, tok, pub, want):
        st = issue_status(inst, tok, pub)
        assert st == want, "issuance answered %r, not %d: %s" % (
            st, want, inst.tail())


class OnPair(unittest.TestCase):
    """Tests on a Pair, its standby synchronous or not (a base class
    without tests: unittest sets none up for it)."""
    SYNCHRONOUS = None

    @classmethod
    def setUpClass(cls):
        cls.p = Pair(synchronous=cls.SYNCHRONOUS)

    @classmethod
    def tearDownClass(cls):
        cls.p.close()


class SynchronousFailover(OnPair):
    SYNCHRONOUS = True

    def test_instances_resume_and_nothing_given_is_lost(self):
        p = self.p
        self.assertEqual(p.replicated(), "sync")
        load = Load(p.insts, p.users[:CLIENTS])
        load.start()
        try:
            harness.wait_for(lambda: load.ok() >= 100,
                             "100 issuances before the failover",
                             timeout=60)
            p.fail_over()
            t0 = time.monotonic()
            tok, pub = p.users[CLIENTS]
            for i in p.insts:
                harness.wait_for(
                    lambda: issue_status(i, tok, pub) == 201,
                    "an issuance on the promoted standby", timeout=BOUND)
                self.assertEqual(healthz(i), 200)
            resumed = time.monotonic() - t0
            n = load.ok()
            harness.wait_for(lambda: load.ok() >= n + 100,
                             "100 issuances after the failover",
                             timeout=60)
        finally:
            load.stop()
        print("resumed %.1f s after the promotion; statuses %s" % (
            resumed, dict(load.status)), file=sys.stderr)
        self.assertFalse(load.odd, "answers neither 201 nor 503")
        self.assertFalse(load.errors, "transport errors")
        self.assertGreater(load.status[503], 0, "no request saw the gap")
        # Every certificate a client got is stored, with its event, in a
        # chain without gaps that verifies.
        a = p.insts[0]
        got = set()
        for k, serials in load.got.items():
            self.assertEqual(len(serials), len(set(serials)))
            listed = {c["serial"] for c in a.ok(
                "GET", "/v1/certs?user=user%d" % k,
                token=p.admin)["certificates"]}
            self.assertFalse(set(serials) - listed, "returned, not stored")
            got |= set(serials)
        self.assertEqual(sum(map(len, load.got.values())), len(got),
                         "a serial given twice")
        events = harness.all_events(a, p.admin)
        harness.verify_chain(events)
        issued = {e["serial"] for e in events if e["action"] == "cert.issue"}
        self.assertFalse(got - issued, "returned without a cert.issue event")
        v = a.tessera("audit", "verify", "--data", p.uri)
        self.assertIn("intact", v.stdout)


class LossyFailover(OnPair):
    SYNCHRONOUS = False

    def test_lost_commits_are_detected_and_writes_refused(self):
        p = self.p
        sb = p.standby
        harness.wait_for(lambda: p.replicated() == "async",
                         "the standby streaming")
        # It has everything so far (the store, the users' sessions) ...
        lsn = p.primary.psql("SELECT pg_current_wal_lsn()")
        harness.wait_for(lambda: sb.psql(
            "SELECT pg_last_wal_replay_lsn() >= '%s'" % lsn) == "t",
            "the standby replaying up to " + lsn)
        # ... and no more: its WAL receiver detached, it keeps what it has.
        sb.psql("ALTER SYSTEM SET primary_conninfo = ''")
        sb.psql("SELECT pg_reload_conf()")
        harness.wait_for(lambda: not sb.psql(
            "SELECT 1 FROM pg_stat_wal_receiver"),
            "the standby's WAL receiver gone")
        # Commits on each instance that the standby never gets.
        for k, i in enumerate(p.insts):
            tok, pub = p.users[k]
            for _ in range(3):
                p.assert_status(i, tok, pub, 201)
        p.fail_over()
        tok, pub = p.users[CLIENTS]
        for i in p.insts:
            # Issuances reconnect to the promoted standby, whose counter
            # is behind: every one refused, from the first on.
            seen = collections.Counter()

            def refused_and_said():
                seen[issue_status(i, tok, pub)] += 1
                return "commits were lost" in log_of(i)
            harness.wait_for(refused_and_said,
                             "the log line saying commits were lost",
                             timeout=BOUND)
            self.assertEqual(set(seen), {503}, seen)
            for _ in range(2):
                p.assert_status(i, tok, pub, 503)
            self.assertEqual(healthz(i), 503)
            line = [ln for ln in log_of(i).splitlines()
                    if "commits were lost" in ln]
            self.assertEqual(len(line), 1, "said once: %r" % line)
            self.assertIn("write counter went back", line[0])
        # The database itself is writable: the refusal is the instances'.
        self.assertEqual(sb.psql("SELECT pg_is_in_recovery()"), "f")


class BackupAcrossBackends(unittest.TestCase):
    """tessera backup of a PostgreSQL store while clients issue, restored
    into LMDB, backed up from there and restored into a fresh PostgreSQL
    database: each copy verifies, and a tesserad on the last serves."""

    @classmethod
    def setUpClass(cls):
        cls.c = pgcluster.Cluster()
        cls.c.start()
        cls.i = cls.d = None
        try:
            cls.uri = cls.c.createdb("src")
            cls.i = i = harness.Instance(store=cls.uri)
            i.start()
            cls.admin_acct, cls.admin = i.admin()
            cls.users = [i.issuer(cls.admin, "user%d" % k, "app")[1:]
                         for k in range(2)]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for i in (cls.d, cls.i):
            if i is not None:
                i.close()
        cls.c.cleanup()

    def test_backup_under_load_restores_into_lmdb_and_back(self):
        i = self.i
        bak = os.path.join(i.dir, "from-pg.mdb")
        load = Load([i], self.users)
        load.start()
        try:
            harness.wait_for(lambda: load.ok() >= 50, "50 issuances",
                             timeout=60)
            with load.lock:
                before = {s for v in load.got.values() for s in v}
            i.tessera("backup", "--data", self.uri, bak)
            n = load.ok()
            harness.wait_for(lambda: load.ok() >= n + 50,
                             "50 issuances after the backup", timeout=60)
        finally:
            load.stop()
        self.assertEqual(set(load.status), {201}, dict(load.status))
        self.assertFalse(load.errors)
        source = harness.all_events(i, self.admin)
        harness.verify_chain(source)

        lmdb = os.path.join(i.dir, "restored-lmdb")
        i.tessera("restore", "--data", lmdb, bak)
        self.assertIn("intact", i.tessera("audit", "verify", "--data",
                                          lmdb).stdout)
        bak2 = os.path.join(i.dir, "from-lmdb.mdb")
        i.tessera("backup", "--data", lmdb, bak2)
        copy = self.c.createdb("copy")
        i.tessera("restore", "--data", copy, bak2)
        m = re.search(r"intact: (\d+) events", i.tessera(
            "audit", "verify", "--data", copy).stdout)
        self.assertTrue(m)
        m = int(m.group(1))

        # A tesserad on the copy: a login, and the state of one moment.
        self.__class__.d = d = i.peer()
        d.env["TESSERA_STORE"] = copy
        d.start()
        admin = d.login(self.admin_acct)
        events = harness.all_events(d, admin)
        harness.verify_chain(events)
        # The copy's trail (before this login) is the source's up to the
        # moment of the backup and each restore's store.restore event, and
        # holds every issuance answered before the backup.
        cut = events[:m - 2]
        self.assertEqual([(e["action"], e["actor"]) for e in events[m - 2:m]],
                         [("store.restore", "local")] * 2)
        self.assertLess(len(cut), len(source))
        self.assertEqual(cut, source[:len(cut)])
        issued = {e["serial"] for e in cut if e["action"] == "cert.issue"}
        self.assertFalse(before - issued, "answered before the backup, "
                         "missing from it")
        stored = set()
        for k in range(len(self.users)):
            stored |= {c["serial"] for c in d.ok(
                "GET", "/v1/certs?user=user%d" % k,
                token=admin)["certificates"]}
        self.assertEqual(stored, issued)


def log_of(inst):
    with open(os.path.join(inst.dir, "tesserad.log"), "rb") as f:
        return f.read().decode(errors="replace")


if __name__ == "__main__":
    unittest.main(verbosity=2)
