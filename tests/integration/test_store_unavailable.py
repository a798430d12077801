"""The PostgreSQL counterpart of test_store_full (issue 19): on a real
cluster started by the test, the database stops under a burst of
issuances.  Every further write gets 503 `unavailable` and /healthz says
503, while tesserad keeps running; nothing is half-written (each
certificate a client received has its record and its cert.issue event,
records and events agree, the chain verifies).  Once the cluster is back,
the same tesserad process serves again, without a restart."""

import unittest

import harness
import hapair

BURST = 50              # certificates before the database stops
CLIENTS = 4


class StoreUnavailable(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.cluster, cls.i = hapair.pgcluster.Cluster(), None
        try:
            cls.cluster.start()
            cls.i = harness.Instance(store=cls.cluster.createdb("tessera"))
            cls.i.start()
            _, cls.admin = cls.i.admin()
            _, cls.tok, cls.pub = cls.i.issuer(cls.admin, "dora",
                                               hapair.LOGIN)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.i is not None:
            cls.i.close()
        cls.cluster.cleanup()

    def issue(self):
        return self.i.call("POST", "/v1/certs", hapair.cert_body(self.pub),
                           token=self.tok)

    def test_database_down_is_503_then_serves_again(self):
        i, pid = self.i, self.i.proc.pid
        load = hapair.Load([i], CLIENTS, self.tok, self.pub)
        try:
            harness.wait_for(lambda: load.count() >= BURST,
                             "%d certificates" % BURST, timeout=60)
            self.cluster.stop()         # fast: open transactions are cut
            harness.wait_for(lambda: load.count(status=503) >= 10,
                             "503s after the database stopped", timeout=60)
        finally:
            load.stop()
        answers = load.answers()
        self.assertEqual([e[1:] for e in answers if e[1] not in (201, 503)],
                         [], "only certificates or 503 while it stopped")
        received = load.serials()
        print("%d certificates, then %d answers 503" % (
            len(received), load.count(status=503)))

        # Down: writes are 503 unavailable, the health check says so, and
        # the process runs on.
        st, _, body = self.issue()
        self.assertEqual(st, 503, body)
        self.assertEqual(body["error"]["code"], "unavailable")
        harness.wait_for(lambda: i.call("GET", "/healthz")[0] == 503,
                         "/healthz 503", timeout=30)
        self.assertIsNone(i.proc.poll())

        # Back: the same process serves again.
        self.cluster.start()
        def issued():
            st, _, body = self.issue()
            return body if st == 201 else None
        received.append(harness.wait_for(
            issued, "a certificate after the restart of the database",
            timeout=60, step=0.2)["serial"])
        self.assertTrue(i.healthy())
        self.assertEqual(i.proc.pid, pid)

        # Nothing half-written: every certificate answered is stored with
        # its event, and records and events agree.  A commit whose answer
        # was lost with the connection may be stored though answered
        # 503: at most one per client busy when the database stopped.
        listed = {c["serial"] for c in i.ok(
            "GET", "/v1/certs", token=self.tok)["certificates"]}
        self.assertLess(len(listed), 1000)      # the listing's bound
        events = harness.all_events(i, self.admin)
        harness.verify_chain(events)
        audited = {e["serial"] for e in events
                   if e["action"] == "cert.issue"}
        self.assertEqual(listed, audited)
        self.assertEqual(len(received), len(set(received)))
        self.assertFalse(set(received) - listed, "answered, not stored")
        unknown = listed - set(received)
        self.assertLessEqual(len(unknown), CLIENTS, sorted(unknown))


if __name__ == "__main__":
    unittest.main(verbosity=2)
