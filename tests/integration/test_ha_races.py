"""Races between two tesserad instances on one PostgreSQL database (issue
19), behind a barrier, 100 rounds, on a real cluster started by the test
(the wrong passwords race: test_ha_lockout):

- an enrollment token, a TOTP code and a recovery code sent to both
  instances at once: accepted once (one 200, one 401);
- a logout at one instance: the session is refused at the other at once,
  also by issuance, which remembered the session (the caller cache) and
  finds it ended in its commit;
  a certificate revoked at one: the other's KRL revokes it; a binding
  deleted or a user disabled at one: the next issuance at the other is
  refused.

Logins come from rotating loopback addresses (the per-address limit is
not what is tested), over connections opened before the barrier."""

import os
import unittest

import harness
import hapair

ROUNDS = 100


class Races(hapair.RaceCase):

    def one_winner(self, answers, loser_code):
        """Exactly one 200; the other 401 with loser_code: the winner's
        body."""
        self.assertEqual(sorted(a[0] for a in answers), [200, 401],
                         [(a[0], a[2]) for a in answers])
        lose = next(a[2] for a in answers if a[0] == 401)
        self.assertEqual(lose["error"]["code"], loser_code, lose)
        return next(a[2] for a in answers if a[0] == 200)

    def assertRevoked(self, inst, cert):
        d = self.p.a.dir
        with open(os.path.join(d, "race-cert.pub"), "w") as f:
            f.write(cert["certificate"] + "\n")
        with open(os.path.join(d, "race.krl"), "wb") as f:
            f.write(inst.ok("GET", "/v1/krl"))
        out = harness.subprocess.run(
            ["ssh-keygen", "-Q", "-f", os.path.join(d, "race.krl"),
             os.path.join(d, "race-cert.pub")],
            capture_output=True, text=True).stdout
        self.assertTrue(out.strip().endswith("REVOKED"), out)

    def test_accepted_once_and_ended_everywhere(self):
        p, admin = self.p, self.p.admin
        for r in range(ROUNDS):
            x, y = (p.a, p.b) if r % 2 == 0 else (p.b, p.a)
            name = "u%d" % r
            u = x.ok("POST", "/v1/users", {"username": name, "groups": []},
                     token=admin, want=201)
            bnd = y.ok("POST", "/v1/bindings",
                       {"role": "ops", "subject": "user:" + name},
                       token=admin, want=201)
            acct = harness.Account(name, name + "'s password 1")
            acct.secret = x.ok("POST", "/v1/enroll/start",
                               {"token": u["enroll_token"],
                                "password": acct.password})["totp_secret"]
            # One enrollment token, one TOTP code, one recovery code:
            # each accepted at one instance only.
            won = self.one_winner(self.race(
                2, "/v1/enroll/finish",
                {"token": u["enroll_token"], "code": acct.next_code()}),
                "invalid_credentials")
            acct.recovery = list(won["recovery_codes"])
            cred = {"username": name, "password": acct.password}
            t1 = self.one_winner(self.race(
                2, "/v1/login", dict(cred, code=acct.next_code())),
                "invalid_credentials")["token"]
            t2 = self.one_winner(self.race(
                2, "/v1/login",
                dict(cred, code=acct.recovery.pop())),
                "invalid_credentials")["token"]
            # A logout at y: the session is refused at x at once, by
            # issuance too, though x remembers the session from the
            # certificate it just gave.
            x.ok("POST", "/v1/certs", hapair.cert_body(p.pub), token=t2,
                 want=201)
            y.ok("POST", "/v1/logout", token=t2, want=204)
            st, _, body = x.call("POST", "/v1/certs",
                                 hapair.cert_body(p.pub), token=t2)
            self.assertEqual(st, 401, (r, body))
            st, _, body = x.call("GET", "/v1/me", token=t2)
            self.assertEqual(st, 401, body)
            # A certificate from y revoked at x: y's KRL revokes it.
            cert = y.ok("POST", "/v1/certs", hapair.cert_body(p.pub),
                        token=t1, want=201)
            x.ok("POST", "/v1/certs/%d/revoke" % cert["serial"],
                 token=admin)
            self.assertRevoked(y, cert)
            # Access taken away at x: the next issuance at y is refused.
            if r % 2:
                x.ok("DELETE", "/v1/bindings/%s" % bnd["id"], token=admin,
                     want=204)
                want = 403
            else:
                x.ok("PATCH", "/v1/users/" + name, {"disabled": True},
                     token=admin)
                want = 401          # disabling ends the sessions
            st, _, body = y.call("POST", "/v1/certs",
                                 hapair.cert_body(p.pub), token=t1)
            self.assertEqual(st, want, (r, body))


if __name__ == "__main__":
    unittest.main(verbosity=2)
