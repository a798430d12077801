"""The story a user lives: enroll, admin grants access, the engineer logs in,
gets a certificate, and a real sshd lets them in until it is revoked."""

import calendar
import os
import pwd
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LOGIN = pwd.getpwuid(os.getuid()).pw_name   # an account sshd can log into
IS_ROOT = os.getuid() == 0


class Story(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = h.Instance()
        cls.metrics_token = cls.inst.metrics_token()
        cls.inst.start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.close()

    def test_story(self):
        inst = self.inst
        _, admin = inst.admin()

        # Admin sets up a target, a role, a user and a binding.
        inst.ok("PUT", "/v1/targets/prod/api",
                {"labels": {"env": "prod"}}, token=admin)
        inst.ok("PUT", "/v1/roles/ops", {
            "rules": [{"targets": ["prod/*"], "logins": [LOGIN]}],
            "max_ttl": 3600, "extensions": ["permit-pty"]}, token=admin)
        r = inst.ok("POST", "/v1/users", {"username": "alice",
                                          "groups": ["eng"]},
                    token=admin, want=201)
        self.assertIn("/enroll#token=", r["enroll_url"])
        b = inst.ok("POST", "/v1/bindings", {"role": "ops",
                                             "subject": "user:alice"},
                    token=admin, want=201)
        self.assertIn("id", b)

        # The engineer enrolls and logs in: that login is her last.
        alice = inst.enroll(r["enroll_token"], "alice",
                            "a long passphrase for alice")
        self.assertIsNone(inst.ok("GET", "/v1/users/alice",
                                  token=admin)["last_login"])
        before = int(time.time())
        tok = inst.login(alice)
        last = inst.ok("GET", "/v1/users/alice", token=admin)["last_login"]
        when = calendar.timegm(time.strptime(last, "%Y-%m-%dT%H:%M:%SZ"))
        self.assertTrue(before - 1 <= when <= time.time() + 1, last)
        me = inst.ok("GET", "/v1/me", token=tok)
        self.assertEqual(me["username"], "alice")
        self.assertEqual(me["groups"], ["eng"])
        self.assertEqual([(a["target"], a["logins"]) for a in me["access"]],
                         [("prod/api", [LOGIN])])

        # A certificate for an Ed25519 key.
        key, pub = h.ssh_keypair(inst.dir)
        c = inst.ok("POST", "/v1/certs", {"public_key": pub,
                                          "target": "prod/api"},
                    token=tok, want=201)
        principal = LOGIN + "@prod/api"
        self.assertEqual(c["principals"], [principal])
        self.assertEqual(c["key_id"], "alice:%d" % c["serial"])
        self.assertLessEqual(c["valid_before"] - c["valid_after"], 3600 + 300)
        with open(key + "-cert.pub", "w") as f:
            f.write(c["certificate"] + "\n")
        fields, principals = h.cert_fields(key + "-cert.pub")
        self.assertEqual(principals, [principal])
        self.assertIn('"alice:%d"' % c["serial"], fields["Key ID"])
        self.assertEqual(fields["Serial"], str(c["serial"]))
        self.assertIn("user certificate", fields["Type"])

        listed = inst.ok("GET", "/v1/certs", token=tok)["certificates"]
        self.assertEqual([x["serial"] for x in listed], [c["serial"]])
        self.assertEqual(listed[0]["state"], "valid")

        # Explainable decisions.
        chk = inst.ok("GET", "/v1/check?user=alice&target=prod/api&login="
                      + LOGIN, token=admin)
        self.assertTrue(chk["allowed"], chk)
        self.assertIn("ops", chk["reason"])
        chk = inst.ok("GET", "/v1/check?user=alice&target=prod/api&login=zed",
                      token=admin)
        self.assertFalse(chk["allowed"])

        # A real sshd configured from the broker's own output.
        ca = inst.ok("GET", "/v1/ca")
        self.assertTrue(ca.decode().startswith("ssh-ed25519 "))
        snippet = inst.ok("GET", "/v1/targets/prod/api/sshd",
                          token=admin).decode()
        self.assertEqual(h.parse_principals(snippet), {LOGIN: principal})
        krl = inst.ok("GET", "/v1/krl")
        sshd = h.Sshd(inst.dir, ca.decode(), snippet, krl)
        try:
            self.assertTrue(sshd.login(key, LOGIN), sshd.tail())
            if IS_ROOT:
                # A login whose principals file does not list ours.
                sshd.write_principals("nobody", "nobody@prod/api")
                self.assertTrue(sshd.refused(key, "nobody"))

            # Revoke; the KRL served next makes sshd refuse the key.
            inst.ok("POST", "/v1/certs/%d/revoke" % c["serial"], token=tok)
            sshd.set_krl(inst.ok("GET", "/v1/krl"))
            self.assertTrue(sshd.refused(key, LOGIN))
            st = inst.ok("GET", "/v1/certs", token=tok)["certificates"]
            self.assertEqual(st[0]["state"], "revoked")
            # The admin's view of it, filtered by the server.
            q = "/v1/certs?all=true&user=alice&target=prod/api&state="
            got = inst.ok("GET", q + "revoked", token=admin)
            self.assertEqual([x["serial"] for x in got["certificates"]],
                             [c["serial"]])
            self.assertIsNone(got["next"])
            self.assertEqual(inst.ok("GET", q + "valid", token=admin),
                             {"certificates": [], "next": None})
            st, _, err = inst.call("GET", q + "live", token=admin)
            self.assertEqual((st, err["error"]["message"]),
                             (400, "state: valid, expired or revoked"))
        finally:
            sshd.stop()

        # Access through a group, given and taken while issuance
        # remembers her session (the caller cache): each decision follows
        # the change at once, the stale memory neither refusing nor
        # granting.
        inst.ok("PUT", "/v1/targets/lab/db", {"labels": {}}, token=admin)
        inst.ok("PUT", "/v1/roles/dba", {
            "rules": [{"targets": ["lab/*"], "logins": [LOGIN]}],
            "max_ttl": 3600}, token=admin)
        inst.ok("POST", "/v1/bindings", {"role": "dba",
                                         "subject": "group:dba"},
                token=admin, want=201)
        db = {"public_key": pub, "target": "lab/db"}
        st, _, body = inst.call("POST", "/v1/certs", db, token=tok)
        self.assertEqual(st, 403, body)
        inst.ok("PATCH", "/v1/users/alice", {"groups": ["eng", "dba"]},
                token=admin)
        inst.ok("POST", "/v1/certs", db, token=tok, want=201)
        inst.ok("PATCH", "/v1/users/alice", {"groups": ["eng"]},
                token=admin)
        st, _, body = inst.call("POST", "/v1/certs", db, token=tok)
        self.assertEqual(st, 403, body)

        # The audit trail holds the story, chained, and no secret.
        events = h.all_events(inst, admin)
        actions = [e["action"] for e in events]
        for a in ("enroll.finish", "login.ok", "role.put", "binding.create",
                  "user.create", "cert.issue", "cert.revoke"):
            self.assertIn(a, actions)
        h.verify_chain(events)
        text = str(events)
        self.assertNotIn(alice.password, text)
        self.assertNotIn(alice.secret, text)
        self.assertNotIn(tok, text)

        metrics = inst.ok("GET", "/metrics",
                          token=self.metrics_token).decode()
        self.assertIn("tessera_certificates_issued_total 2", metrics)
        self.assertIn('tessera_logins_total{outcome="ok"} 2', metrics)

        # Logout ends the session on the server, for issuance too, which
        # remembers the session from the certificate just before.
        inst.ok("POST", "/v1/certs", {"public_key": pub}, token=tok,
                want=201)
        inst.ok("POST", "/v1/logout", token=tok, want=204)
        st, _, body = inst.call("GET", "/v1/me", token=tok)
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["code"], "unauthenticated")
        st, _, body = inst.call("POST", "/v1/certs", {"public_key": pub},
                                token=tok)
        self.assertEqual(st, 401, body)

        # Offline verification of the stopped instance's chain.
        self.assertEqual(inst.stop(), 0)
        out = inst.tessera("audit", "verify", "--data",
                           inst.store or inst.data).stdout
        m = h.re.search(r"intact: (\d+) events", out)
        self.assertTrue(m, out)
        # A certificate and the logout came after the listing.
        self.assertEqual(int(m.group(1)), len(events) + 2, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
