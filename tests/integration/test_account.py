"""A user's own account on a real tesserad (issue 18): a stolen session
cannot guess the password or code faster than a login could (the proofs
of POST /v1/me/password and /v1/me/recovery-codes count on the account,
from any address, and throttle logins too); cross-site and CSRF-less
cookie writes are refused; sessions are listed and ended only by their
own user; and neither passwords nor codes reach the audit trail or the
service log."""

import http.client
import itertools
import json
import os
import time
import unittest

import harness

_addr = itertools.count(1)


def call_from(inst, method, path, body=None, **kw):
    """inst.call() from a fresh loopback source address."""
    n = next(_addr)
    c = http.client.HTTPSConnection(
        "127.0.0.1", inst.port, context=inst.ctx, timeout=60,
        source_address=("127.3.%d.%d" % (n // 250, n % 250 + 1), 0))
    try:
        return inst.call(method, path, body, conn=c, **kw)
    finally:
        c.close()


class Account(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        i = cls.i = harness.Instance()
        i.start()
        cls.admin_acct, cls.admin = i.admin()

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def user(self, name):
        """A new user, enrolled (one TOTP step spent) and logged in with a
        recovery code, so the next TOTP step is still fresh."""
        r = self.i.ok("POST", "/v1/users", {"username": name, "groups": []},
                      token=self.admin, want=201)
        acct = self.i.enroll(r["enroll_token"], name, name + "'s password 1")
        r = self.i.ok("POST", "/v1/login", {"username": name,
                                            "password": acct.password,
                                            "code": acct.recovery.pop()})
        return acct, r["token"]

    def test_wrong_proofs_throttle_the_account_from_any_address(self):
        acct, tok = self.user("stolen")
        body = {"current_password": "a guess at the password",
                "code": "123456", "new_password": "the thief's password"}
        # Wrong guesses, each from another address: counted on the
        # account, so from the fifth on each waits twice as long.  Keep
        # guessing (through the waits) until the wait is 4 s or more, so
        # what follows does not depend on this machine's speed.
        retry, wrong = 0, 0
        deadline = time.monotonic() + 60
        while retry < 4 and time.monotonic() < deadline:
            st, hd, b = call_from(self.i, "POST", "/v1/me/password", body,
                                  token=tok)
            if st == 401:
                self.assertEqual(b["error"]["code"], "invalid_credentials")
                wrong += 1
                continue
            self.assertEqual((st, b["error"]["code"]),
                             (429, "too_many_attempts"), b)
            retry = int(hd["retry-after"])
            time.sleep(0.1)
        self.assertGreaterEqual(retry, 4)
        self.assertGreaterEqual(wrong, 5)
        # Meanwhile the other proof and the owner's own login wait too.
        st, hd, b = call_from(self.i, "POST", "/v1/me/recovery-codes",
                              {"code": "654321"}, token=tok)
        self.assertEqual((st, b["error"]["code"]),
                         (429, "too_many_attempts"), b)
        self.assertGreaterEqual(int(hd["retry-after"]), 1)
        st, _, b = call_from(self.i, "POST", "/v1/login",
                             {"username": acct.name,
                              "password": acct.password,
                              "code": acct.next_code()})
        self.assertEqual(st, 429, b)
        # The password did not change meanwhile: after the wait the old
        # one still logs in, and that resets the count.
        code = acct.recovery.pop()
        st, _, b = harness.wait_for(
            lambda: (lambda r: r if r[0] != 429 else None)(call_from(
                self.i, "POST", "/v1/login",
                {"username": acct.name, "password": acct.password,
                 "code": code})), "the end of the wait", timeout=20,
            step=0.25)
        self.assertEqual(st, 200, b)
        denied = [e for e in harness.all_events(self.i, self.admin)
                  if e["actor"] == "stolen" and e["result"] == "denied"]
        bad = [e for e in denied if e.get("reason") == "bad_password"]
        self.assertEqual(len(bad), wrong)
        self.assertEqual({e["action"] for e in bad}, {"password.change"})
        self.assertIn(("recovery.regenerate", "throttled"),
                      [(e["action"], e.get("reason")) for e in denied])
        self.assertIn(("login.fail", "throttled"),
                      [(e["action"], e.get("reason")) for e in denied])

    def test_cookie_writes_need_csrf_and_same_site(self):
        acct, _ = self.user("cookie")
        st, _, b = self.i.call("POST", "/v1/login", {
            "username": acct.name, "password": acct.password,
            "code": acct.next_code()})
        self.assertEqual(st, 200, b)
        cookie = {"Cookie": "__Host-tessera=" + b["token"]}
        good = dict(cookie, **{"X-CSRF-Token": b["csrf_token"]})
        cross = dict(good, Origin="https://evil.example")
        for path, body in (("/v1/me/password", {
                "current_password": acct.password, "code": "000000",
                "new_password": "another password here"}),
                ("/v1/me/recovery-codes", {"code": "000000"}),
                ("/v1/sessions/end-others", None)):
            for h in (cookie, cross):
                st, _, r = self.i.call("POST", path, body, headers=h)
                self.assertEqual((st, r["error"]["code"]),
                                 (403, "forbidden"), (path, r))
        st, _, r = self.i.call("POST", "/v1/sessions/end-others",
                               headers=good)
        self.assertEqual(st, 200, r)
        # Refused before any proof was checked: nothing counted.
        events = harness.all_events(self.i, self.admin)
        self.assertFalse([e for e in events if e["actor"] == "cookie" and
                          e["result"] == "denied"])

    def test_sessions_are_their_users_own(self):
        acct, tok = self.user("owner")
        _, other = self.user("other")
        second = self.i.login(acct)
        mine = self.i.ok("GET", "/v1/sessions", token=tok)["sessions"]
        self.assertEqual(len(mine), 2)
        self.assertEqual(sorted(s["current"] for s in mine), [False, True])
        theirs = self.i.ok("GET", "/v1/sessions", token=other)["sessions"]
        self.assertEqual(len(theirs), 1)
        for s in mine:
            st, _, b = self.i.call("DELETE", "/v1/sessions/" + s["id"],
                                   token=other)
            self.assertEqual((st, b["error"]["code"]), (404, "not_found"))
        for bad in ("x" * 64, s["id"][:63], s["id"].upper(), "%00"):
            st, _, b = self.i.call("DELETE", "/v1/sessions/" + bad,
                                   token=tok)
            self.assertEqual((st, b["error"]["code"]), (400, "bad_request"),
                             (bad, b))
        self.assertEqual(self.i.call("GET", "/v1/me", token=second)[0], 200)
        gone = [s["id"] for s in mine if not s["current"]][0]
        self.assertEqual(self.i.call("DELETE", "/v1/sessions/" + gone,
                                     token=tok)[0], 204)
        self.assertEqual(self.i.call("GET", "/v1/me", token=second)[0], 401)
        self.assertEqual(self.i.call("GET", "/v1/me", token=other)[0], 200)

    def test_zz_no_secret_in_the_trail_or_log(self):
        acct, tok = self.user("secretive")
        code = acct.next_code()
        newpw = "secretive's brand new password"
        st, _, b = self.i.call("POST", "/v1/me/password", {
            "current_password": acct.password, "code": code,
            "new_password": newpw}, token=tok)
        self.assertEqual(st, 204, b)
        self.assertEqual(self.i.call("GET", "/v1/me", token=tok)[0], 401)
        st, _, b = self.i.call("POST", "/v1/login", {
            "username": acct.name, "password": acct.password,
            "code": acct.recovery.pop()})
        self.assertEqual(st, 401, "the old password logs in: %r" % b)
        self.assertIn("token", self.i.ok("POST", "/v1/login", {
            "username": acct.name, "password": newpw,
            "code": acct.recovery.pop()}))
        # New codes for a second user (a TOTP step each).
        acct2, tok2 = self.user("secretive2")
        code2 = acct2.next_code()
        r = self.i.ok("POST", "/v1/me/recovery-codes", {"code": code2},
                      token=tok2)
        codes = r["recovery_codes"]
        self.assertEqual(len(codes), 10)
        st, _, b = self.i.call("POST", "/v1/login", {
            "username": acct2.name, "password": acct2.password,
            "code": acct2.recovery.pop()})
        self.assertEqual(st, 401, "an old recovery code works: %r" % b)
        self.assertEqual(self.i.call("POST", "/v1/login", {
            "username": acct2.name, "password": acct2.password,
            "code": codes[3]})[0], 200)
        tok = tok2
        with open(os.path.join(self.i.dir, "audit.log")) as f:
            stream = f.read()
        trail = json.dumps(harness.all_events(self.i, self.admin))
        with open(os.path.join(self.i.dir, "tesserad.log"), "rb") as f:
            log = f.read().decode("utf-8", "replace")
        # (The 6-digit codes are left out: a hash or port may hold one.)
        for secret in [newpw, "secretive's password 1",
                       "secretive2's password 1", tok] + codes:
            for where, text in (("audit stream", stream), ("trail", trail),
                                ("service log", log)):
                self.assertNotIn(secret, text, where)
        self.assertIn('"recovery.regenerate"', stream)
        self.assertIn('"password.change"', stream)


if __name__ == "__main__":
    unittest.main(verbosity=2)
