"""Lockout across two tesserad instances on one PostgreSQL database
(issue 19), on a real cluster started by the test, 100 rounds: 50 wrong
passwords for one account at once, behind a barrier, spread over both
instances.  Every one is answered 401 (counted) or 429 (throttled); the
store counted each 401 exactly once (the login.fail events carry
failures 1..n, no number twice); it is throttled exactly as on one
instance (from the 5th failure the next attempt must wait its turn, and
both instances answer 429); an unlock at one instance clears the count
for both (the next round counts from 1 again).

Logins come from rotating loopback addresses (the per-address limit is
not what is tested), over connections opened before the barrier."""

import calendar
import time
import unittest

import harness
import hapair

ROUNDS = 100
WRONG = 50
THROTTLE_AFTER = 5          # failures before the first wait (auth/login.h)
BAD = "not the password!"


def seconds(rfc3339):
    return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))


class Lockout(hapair.RaceCase):

    # 25 logins at once per instance: enough hashing slots and queue
    # (4 x slots) that the bound on Argon2 is not what answers.
    ENV = {"TESSERA_ARGON2_MAX_CONCURRENT": "16"}
    RACERS = (WRONG,)

    def test_wrong_passwords_counted_once_each(self):
        p, admin = self.p, self.p.admin
        name = "wendy"
        u = p.a.ok("POST", "/v1/users", {"username": name, "groups": []},
                   token=admin, want=201)
        p.a.enroll(u["enroll_token"], name, name + "'s password 1")
        seq = harness.all_events(p.a, admin)[-1]["seq"]
        for r in range(ROUNDS):
            answers = self.race(WRONG, "/v1/login",
                                {"username": name, "password": BAD,
                                 "code": "000000"})
            st = [a[0] for a in answers]
            counted, throttled = st.count(401), st.count(429)
            self.assertEqual(counted + throttled, WRONG, (r, st))
            self.assertGreaterEqual(counted, THROTTLE_AFTER, (r, st))
            # Throttled at both instances, as on one (racer k was at
            # instance k % 2).
            for k in (0, 1):
                hd = [a[1] for a in answers[k::2] if a[0] == 429]
                self.assertTrue(hd, "no 429 from instance %d" % k)
                self.assertGreaterEqual(int(hd[0]["retry-after"]), 1)
            # Each failure counted once: failures 1..counted, and a
            # failure after the 5th only once its wait was over.
            events = harness.all_events(p.a, admin, after=seq)
            seq = events[-1]["seq"]
            fails = [e for e in events if e["action"] == "login.fail" and
                     e["object"] == name]
            bad = sorted((e for e in fails if e["reason"] ==
                          "bad_password"), key=lambda e: e["failures"])
            self.assertEqual([e["failures"] for e in bad],
                             list(range(1, counted + 1)), r)
            self.assertEqual(sum(e["reason"] == "throttled" for e in fails),
                             throttled, r)
            for prev, e in zip(bad[THROTTLE_AFTER - 1:],
                               bad[THROTTLE_AFTER:]):
                self.assertGreater(seconds(e["time"]), seconds(prev["time"]),
                                   "failure %d during the wait" %
                                   e["failures"])
            # Unlocked at one instance: at both.
            (p.b if r % 2 else p.a).ok("POST", "/v1/users/%s/unlock" % name,
                                       token=admin)


if __name__ == "__main__":
    unittest.main(verbosity=2)
