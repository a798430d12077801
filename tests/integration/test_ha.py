"""Two tesserad instances on one PostgreSQL database (issue 19), on a real
cluster started by the test (tests/lib/pgcluster.py):

- SIGKILL of one instance under load: the other answers every request
  with 201, and every certificate any client received (from either) is
  listed by GET /v1/certs?all=true and has its cert.issue event;
- 64 clients split across both issue for 10 s: every serial answered is
  unique and in serial order the issuing seconds never go back, the
  audit chain is 1..N without a gap and verifies (over HTTP
  at either instance and with `tessera audit verify --data URI`), and once
  both sinks have caught up both instances' audit.log files hold the same
  event lines (each signs its own checkpoints, which verify);
- SIGSTOP of the instance while it holds the cluster's write lock: the
  other answers (503 or 201) within store_timeout and a margin, serves
  again once the database ended the frozen transaction, and both serve
  after SIGCONT.

The tests run in name order on one pair of instances."""

import json
import os
import signal
import time
import unittest

import harness
import hapair

CLIENTS = 64
LOAD_SECONDS = 10
KILL_CLIENTS = 16
STORE_TIMEOUT = 2           # seconds (store_timeout); 5 s is the default
MARGIN = 1.9                # under STORE_TIMEOUT: a second wait fails


class HA(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.p = hapair.Pair(
            env={"TESSERA_STORE_TIMEOUT": "%ds" % STORE_TIMEOUT})

    @classmethod
    def tearDownClass(cls):
        cls.p.close()

    def user(self, name):
        """A new user bound to ops, logged in: (token, public key)."""
        _, tok, pub = self.p.a.issuer(self.p.admin, name, hapair.LOGIN)
        return tok, pub

    def assertStored(self, received, query):
        """Every serial in received once, with its cert.issue event in a
        chain that verifies, and listed by GET /v1/certs?query (which
        lists the 1000 highest serials: those above its lowest)."""
        p = self.p
        listed = {c["serial"] for c in p.a.ok(
            "GET", "/v1/certs?" + query, token=p.admin)["certificates"]}
        cut = min(listed) if len(listed) >= 1000 else 0
        events = harness.all_events(p.a, p.admin)
        harness.verify_chain(events)
        audited = {e["serial"] for e in events
                   if e["action"] == "cert.issue"}
        self.assertEqual(len(received), len(set(received)),
                         "a serial given twice")
        self.assertFalse({s for s in received if s >= cut} - listed,
                         "certificates answered but not stored")
        self.assertFalse(set(received) - audited, "certificates answered "
                         "without a cert.issue event")

    def test_1_sigkill_one_instance_under_load(self):
        p = self.p
        tok, pub = self.user("kate")
        # At most ~800 certificates, and first: GET /v1/certs?all=true
        # lists the 1000 highest serials, and each instance takes its
        # serials from a block of its own, so within a second a later
        # certificate may have a lower serial than one from the other.
        load = hapair.Load(p.both(), KILL_CLIENTS, tok, pub, limit=800)
        try:
            harness.wait_for(lambda: load.count(1) >= 100,
                             "100 certificates from b", timeout=60)
            self.assertEqual(p.b.stop(signal.SIGKILL), -signal.SIGKILL)
            killed = time.monotonic()
            harness.wait_for(lambda: load.count(0, since=killed) >= 100,
                             "100 certificates from a after the kill",
                             timeout=60)
        finally:
            load.stop()
        at_a = load.answers(0)
        self.assertEqual([e[1:] for e in at_a if e[1] != 201][:5], [],
                         "a failed requests while b died")
        got = load.serials()
        self.assertLess(len(got), 900)          # all of them listed
        self.assertStored(got, "all=true")
        # b comes back on the same database.
        p.b.start()
        p.b.ok("POST", "/v1/certs", hapair.cert_body(pub), token=tok,
               want=201)

    def test_2_64_clients_one_chain(self):
        p = self.p
        before = len(harness.all_events(p.a, p.admin))
        load = hapair.Load(p.both(), CLIENTS, p.tok, p.pub)
        t0 = time.monotonic()
        try:
            harness.wait_for(lambda: time.monotonic() - t0 >= LOAD_SECONDS,
                             "%d s of load" % LOAD_SECONDS,
                             timeout=LOAD_SECONDS + 5, step=0.5)
        finally:
            load.stop()
        bad = [e for e in load.answers() if e[1] != 201]
        self.assertEqual(bad[:5], [], "%d of %d requests failed" % (
            len(bad), len(load.answers())))
        got = load.serials()
        self.assertGreater(load.count(0), 0)
        self.assertGreater(load.count(1), 0)
        print("%d certificates in %d s: %d from a, %d from b" % (
            len(got), LOAD_SECONDS, load.count(0), load.count(1)))
        self.assertEqual(len(got), len(set(got)), "a serial given twice")
        # Serials follow the clock across instances: in serial order the
        # certificates' seconds (valid_after, the issuing second less five
        # minutes) never go back.
        secs = [b["valid_after"] for b in sorted(
            (e[4] for e in load.answers() if e[1] == 201),
            key=lambda b: b["serial"])]
        self.assertEqual(secs, sorted(secs),
                         "a later second's serial below an earlier one's")

        # One chain, 1..N (verify_chain checks seq), the same at b.
        events = harness.all_events(p.a, p.admin)
        harness.verify_chain(events)
        self.assertEqual(sorted(e["serial"] for e in events[before:]
                                if e["action"] == "cert.issue"),
                         sorted(got))
        self.assertEqual(harness.all_events(p.b, p.admin), events)
        self.assertEqual(hapair.verify_offline(p.uri), len(events))

        # Both sinks stream the same chain: the same event lines, once
        # each has written event N, and checkpoints that verify.
        n = len(events)

        def caught_up(inst):
            try:
                lines = hapair.audit_file(inst)[0]
            except OSError:
                return False
            return bool(lines) and json.loads(lines[-1])["seq"] == n
        for inst in p.both():
            harness.wait_for(lambda: caught_up(inst),
                             "audit.log of %s up to seq %d" % (inst.dir, n),
                             timeout=60)
            self.assertEqual(hapair.verify_offline(
                p.uri, "--checkpoints", os.path.join(inst.dir, "audit.log"),
                "--audit-pubkey", os.path.join(p.a.data, "audit.key.pub")),
                n)
        a, b = hapair.audit_file(p.a)[0], hapair.audit_file(p.b)[0]
        self.assertEqual(len(a), n)
        self.assertTrue(a == b, "the two audit.log files differ")

    def b_holds_the_write_lock(self):
        # In pipeline mode the backend stays "active" until the sync,
        # waiting to read from its client.
        return int(self.p.cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE "
            "application_name = '%s' AND backend_xid IS NOT NULL "
            "AND wait_event = 'ClientRead'" % hapair.B_APP)) > 0

    def test_3_sigstop_of_the_lock_holder(self):
        p = self.p
        tok, pub = self.user("stan")
        load = hapair.Load(p.both(), 8, tok, pub)
        pid, frozen = p.b.proc.pid, None
        try:
            # Freeze b until it is caught in a write transaction (it has
            # updated the writer row and waits for its client): a few
            # tries, b serving a little between them.
            for _ in range(200):
                mark = time.monotonic()
                harness.wait_for(lambda: load.count(1, since=mark) >= 3,
                                 "b serving", timeout=30)
                os.kill(pid, signal.SIGSTOP)
                if self.b_holds_the_write_lock():
                    frozen = time.monotonic()
                    break
                os.kill(pid, signal.SIGCONT)
            self.assertIsNotNone(frozen, "never caught b holding the lock")
            # The database ends b's transaction (idle in transaction for
            # 2 x store_timeout); a serves again meanwhile.
            harness.wait_for(
                lambda: load.count(0, since=frozen + 0.001) >= 10,
                "a serving while b is stopped",
                timeout=2 * STORE_TIMEOUT + MARGIN + 10)
            thawed = time.monotonic()
            os.kill(pid, signal.SIGCONT)
            harness.wait_for(lambda: load.count(1, since=thawed) >= 3,
                             "b serving after SIGCONT", timeout=30)
            harness.wait_for(lambda: load.count(0, since=thawed) >= 3,
                             "a serving after SIGCONT", timeout=30)
        finally:
            if frozen is not None:
                os.kill(pid, signal.SIGCONT)
            load.stop()
        # a never hung: whatever it answered while b was frozen came in
        # time, and was a certificate or 503.
        during = [e for e in load.answers(0) if e[3] >= frozen and
                  e[2] <= thawed]
        self.assertTrue(during)
        slow = max(e[3] - e[2] for e in during)
        print("a's slowest answer while b held the lock: %.2f s" % slow)
        self.assertLessEqual(slow, STORE_TIMEOUT + MARGIN)
        self.assertEqual([e[1:] for e in during if e[1] not in (201, 503)],
                         [])
        self.assertIn(503, [e[1] for e in during],
                      "a never waited for b's lock")
        for e in load.answers(1):
            self.assertIn(e[1], (201, 503), e[1:])
        self.assertStored(load.serials(), "user=stan")
        for inst in p.both():
            self.assertTrue(inst.healthy())


if __name__ == "__main__":
    unittest.main(verbosity=2)
