"""Issue 14 section 5, "unauthenticated work has no price", against a real
tesserad over real TLS, with lmdb-utils' mdb_stat reading the store.

- Polls of a pending device code are reads: the LMDB environment's last
  transaction id does not move however fast they come; they answer
  slow_down, and 429 too_many_attempts beyond the per-address budget,
  while a client keeping the RFC 8628 pace still gets its certificate.
- A name that is not an account throttles exactly as an account does:
  the same wrong logins give the same status, body and Retry-After.
- Enrollment calls have a per-address budget too.

Each test speaks from loopback source addresses of its own (127.5.x.y),
so the per-address budgets of one test never decide another.  The one
wall-clock assumption (two requests sent back to back fall in the same
second) is checked, not assumed: a pair that straddles a second is run
again with fresh names."""

import http.client
import itertools
import re
import time
import unittest

import harness

POLL_BURST = 30           # DEVICE_API_POLL_BURST
ENROLL_BURST = 100        # auth_config enroll_rate_burst
INTERVAL = 5              # DEVICE_INTERVAL
SLOW_DOWN_STEP = 5        # DEVICE_SLOW_DOWN_STEP

_addr = itertools.count(1)


def fresh_addr():
    n = next(_addr)
    return "127.5.%d.%d" % (n // 250, n % 250 + 1)


class Client:
    """One keep-alive TLS connection from a chosen loopback address."""

    def __init__(self, inst, source):
        self.inst = inst
        self.source = source
        self.c = None

    def call(self, method, path, body=None, token=None):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPSConnection(
                    "127.0.0.1", self.inst.port, context=self.inst.ctx,
                    timeout=30, source_address=(self.source, 0))
            try:
                return self.inst.call(method, path, body, token=token,
                                      conn=self.c)
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive connection.
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def last_txnid(data_dir):
    out = harness.run(["mdb_stat", "-e", data_dir])
    m = re.search(r"Last transaction ID:\s*(\d+)", out)
    assert m, out
    return int(m.group(1))


def code(body):
    return body["error"]["code"] if isinstance(body, dict) and \
        "error" in body else None


class UnauthPrice(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        cls.i.start()
        _, cls.admin = cls.i.admin()
        cls.acct, cls.token, cls.pub = cls.i.issuer(cls.admin, "dana",
                                                    "app")
        cls.users = itertools.count(1)

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def device(self, client):
        st, _, body = client.call("POST", "/v1/device",
                                  {"public_key": self.pub,
                                   "target": "prod/api", "login": "app"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["interval"], INTERVAL)
        return body

    def poll(self, client, device_code):
        return client.call("POST", "/v1/device/token",
                           {"device_code": device_code})

    # Finding: about 9,400 unauthenticated polls of one pending device
    # code in 4 s, each a durable write, never a 429.
    def test_fast_device_polls_write_nothing_slow_down_then_429(self):
        cl = Client(self.i, fresh_addr())
        try:
            dc = self.device(cl)["device_code"]
            before = last_txnid(self.i.data)
            answers = []
            for _ in range(2000):
                st, hd, body = self.poll(cl, dc)
                answers.append((st, code(body)))
                if st == 429:
                    break
            after = last_txnid(self.i.data)
        finally:
            cl.close()
        self.assertEqual(after, before,
                         "%d write transactions for %d polls" %
                         (after - before, len(answers)))
        self.assertEqual(answers[0], (400, "authorization_pending"))
        self.assertEqual(answers[-1], (429, "too_many_attempts"),
                         "no 429 in %d polls" % len(answers))
        self.assertGreaterEqual(int(hd["retry-after"]), 1)
        middle = set(answers[1:-1])
        self.assertEqual(middle, {(400, "slow_down")})
        # The budget is per address, and what it allows is at least the
        # burst (it refills while the loop runs, never below it).
        self.assertGreaterEqual(len(answers) - 1, POLL_BURST)
        # Another address is not affected; the store is healthy.
        other = Client(self.i, fresh_addr())
        try:
            st, _, body = self.poll(other, dc)
        finally:
            other.close()
        self.assertEqual((st, code(body)), (400, "slow_down"))
        self.assertTrue(self.i.healthy())

    # The other side of the same finding: a client that keeps the pace,
    # and adds 5 s after a slow_down, gets its certificate.
    def test_paced_client_gets_the_certificate_once_approved(self):
        cl = Client(self.i, fresh_addr())
        try:
            g = self.device(cl)
            dc, interval = g["device_code"], g["interval"]
            st, _, body = self.poll(cl, dc)
            self.assertEqual((st, code(body)), (400, "authorization_pending"))
            st, _, body = self.poll(cl, dc)
            self.assertEqual((st, code(body)), (400, "slow_down"))
            interval += SLOW_DOWN_STEP
            # The protocol's polling interval (RFC 8628), not
            # synchronisation; a little more for clock granularity.
            cl.close()
            time.sleep(interval + 0.5)
            st, _, body = self.poll(cl, dc)
            self.assertEqual((st, code(body)), (400, "authorization_pending"))
            self.i.ok("POST", "/v1/device/approve",
                      {"user_code": g["user_code"]}, token=self.token)
            cl.close()
            time.sleep(interval + 0.5)
            st, _, body = self.poll(cl, dc)
        finally:
            cl.close()
        self.assertEqual(st, 201, body)
        self.assertTrue(body["certificate"].startswith(
            "ssh-ed25519-cert-v01@openssh.com "))
        self.assertEqual(body["principals"], ["app@prod/api"])

    def new_account(self):
        name = "probe%d" % next(self.users)
        r = self.i.ok("POST", "/v1/users", {"username": name, "groups": []},
                      token=self.admin, want=201)
        return self.i.enroll(r["enroll_token"], name, name + "'s password 1")

    # Finding: an existing account answers 429 after 5 failures while an
    # unknown name stays 401 forever: username enumeration.
    def test_unknown_name_throttles_like_an_account(self):
        for run in range(4):
            known = self.new_account().name
            unknown = "nobody%d" % run
            src = fresh_addr()
            seq_known, seq_unknown, straddled = [], [], False
            for _ in range(7):
                t0 = time.time()
                a = harness_login(self.i, src, known)
                b = harness_login(self.i, src, unknown)
                if int(t0) != int(time.time()):
                    straddled = True
                    break
                seq_known.append(a)
                seq_unknown.append(b)
            if straddled:
                continue
            self.assertEqual(seq_known, seq_unknown)
            self.assertEqual([s for s, _, _ in seq_known[:5]], [401] * 5)
            self.assertIn(429, [s for s, _, _ in seq_known])
            return
        self.fail("every run straddled a second boundary")

    # Enrollment calls were unlimited: each one with a bad token still took
    # the store's write lock (finish) or a read (start).
    def test_enroll_calls_limited_per_address(self):
        cl = Client(self.i, fresh_addr())
        answers = []
        try:
            for _ in range(ENROLL_BURST * 3):
                st, hd, body = cl.call("POST", "/v1/enroll/finish",
                                       {"token": "0" * 64,
                                        "code": "123456"})
                answers.append((st, code(body)))
                if st == 429:
                    break
        finally:
            cl.close()
        self.assertEqual(answers[-1], (429, "too_many_attempts"))
        self.assertGreaterEqual(int(hd["retry-after"]), 1)
        self.assertGreaterEqual(len(answers) - 1, ENROLL_BURST)
        self.assertEqual(set(answers[:-1]), {(401, "invalid_credentials")})


def harness_login(inst, src, name):
    """A wrong login from src: (status, body, Retry-After or None)."""
    c = http.client.HTTPSConnection("127.0.0.1", inst.port, context=inst.ctx,
                                    timeout=30, source_address=(src, 0))
    try:
        st, hd, body = inst.call("POST", "/v1/login",
                                 {"username": name,
                                  "password": "not the password 1",
                                  "code": "123456"}, conn=c)
    finally:
        c.close()
    return st, body, hd.get("retry-after")


if __name__ == "__main__":
    unittest.main(verbosity=2)
