"""A full store on a real tesserad (SECURITY-BAR, bad input 9): with the
LMDB map capped at 1 MiB, issuance runs until the map is full, then every
further write gets 503 `unavailable` and nothing partial is left: each
certificate a client received has its record and its audit event, no
other certificate exists, the chain verifies, and reads keep working."""

import os
import pwd
import unittest

import harness

LOGIN = pwd.getpwuid(os.geteuid()).pw_name
BOUND = 5000            # requests; 1 MiB holds a few hundred certificates


class StoreFull(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        cls.i.env.update(TESSERA_MAP_SIZE_MIB="1", TESSERA_MAP_MAX_MIB="1")
        cls.i.start()
        cls.admin_acct, cls.admin = cls.i.admin()
        cls.dora, cls.tok, cls.pub = cls.i.issuer(cls.admin, "dora", LOGIN)

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def test_full_store_is_503_and_nothing_partial(self):
        i, body = self.i, {"public_key": self.pub, "target": "prod/api",
                           "login": LOGIN, "ttl": 600}
        received, refused = [], None
        conn = i.conn()
        for _ in range(BOUND):
            st, hd, b = i.call("POST", "/v1/certs", body, token=self.tok,
                               conn=conn)
            if st == 201:
                received.append(b["serial"])
                continue
            refused = (st, hd, b)
            break
        conn.close()
        self.assertIsNotNone(refused, "the map never filled")
        self.assertGreater(len(received), 10)
        print("certificates before the map filled: %d" % len(received))
        st, _, b = refused
        self.assertEqual(st, 503, b)
        self.assertEqual(b["error"]["code"], "unavailable")
        # Still full: refused again, and the service answers reads.
        st, _, b = i.call("POST", "/v1/certs", body, token=self.tok)
        self.assertEqual(st, 503, b)
        self.assertTrue(i.healthy())
        # Nothing partial: exactly the certificates that were answered.
        events = harness.all_events(i, self.admin)
        harness.verify_chain(events)
        issued = [e["serial"] for e in events if e["action"] == "cert.issue"]
        self.assertEqual(sorted(issued), sorted(received))
        listed = {c["serial"] for c in i.ok(
            "GET", "/v1/certs", token=self.tok)["certificates"]}
        self.assertEqual(listed, set(received[-1000:]))
        self.assertIsNone(i.proc.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
