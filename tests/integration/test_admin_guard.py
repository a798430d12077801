"""The admin guard on a real tesserad (issue 14, section 2): every admin
change is judged by its effect, whichever endpoint makes it.  ann holds
users:write, targets:write, roles:write and bindings:write, and reaches
the lab targets by label; bob is an engineer; root ("admin") and rex are
full admins; group dba holds root-like access to prod/db."""

import os
import pwd
import unittest

import harness

LOGIN = pwd.getpwuid(os.geteuid()).pw_name


class AdminGuard(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        i = cls.i = harness.Instance()
        i.start()
        cls.admin_acct, cls.admin = i.admin()
        adm = cls.admin
        i.ok("PUT", "/v1/targets/prod/db", {"labels": {"env": "prod"}},
             token=adm)
        i.ok("PUT", "/v1/targets/lab/db", {"labels": {"env": "lab"}},
             token=adm)
        roles = {
            "dbroot": {"rules": [{"targets": ["prod/db"],
                                  "logins": [LOGIN]}]},
            "labops": {"rules": [{"labels": {"env": "lab"},
                                  "logins": [LOGIN]}]},
            "uw": {"admin": ["users:write"]},
            "tw": {"admin": ["targets:write"]},
            "rw": {"admin": ["roles:write"]},
            "bw": {"admin": ["bindings:write"]},
            "auditor": {"admin": ["audit:read"]},
        }
        for name, body in roles.items():
            i.ok("PUT", "/v1/roles/" + name, body, token=adm)
        cls.tokens = {}
        for name in ("ann", "bob", "rex"):
            r = i.ok("POST", "/v1/users", {"username": name, "groups": []},
                     token=adm, want=201)
            acct = i.enroll(r["enroll_token"], name, name + "'s password 1")
            cls.tokens[name] = i.login(acct)
        cls.bindings = {}
        for role, subject in (("labops", "user:ann"), ("uw", "user:ann"),
                              ("tw", "user:ann"), ("rw", "user:ann"),
                              ("bw", "user:ann"), ("labops", "user:bob"),
                              ("admin", "user:rex"), ("dbroot", "group:dba")):
            b = i.ok("POST", "/v1/bindings", {"role": role,
                                              "subject": subject},
                     token=adm, want=201)
            cls.bindings[(role, subject)] = b["id"]
        _, cls.pub = harness.ssh_keypair(i.dir, "ann")

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def refused(self, method, path, body=None, who="ann", code="forbidden",
                words=None):
        st, _, b = self.i.call(method, path, body, token=self.tokens.get(
            who, self.admin if who == "admin" else None))
        self.assertEqual(st, 403, b)
        self.assertEqual(b["error"]["code"], code, b)
        if words:
            self.assertIn(words, b["error"]["message"])
        return b

    def cert(self, target, who="ann"):
        return self.i.call("POST", "/v1/certs", {
            "public_key": self.pub, "target": target, "login": LOGIN,
            "ttl": 600}, token=self.tokens[who])[0]

    def test_finding2_users_write_admin_patches_self_into_prod_group(self):
        self.refused("PATCH", "/v1/users/ann", {"groups": ["dba"]},
                     words="widen your own access (%s@prod/db)" % LOGIN)
        self.assertEqual(self.i.ok("GET", "/v1/users/ann",
                                   token=self.admin)["groups"], [])
        self.assertEqual(self.cert("prod/db"), 403)
        # A full admin may not either.
        self.refused("PATCH", "/v1/users/admin", {"groups": ["dba"]},
                     who="admin", words="widen your own access")

    def test_finding2_targets_write_admin_relabels_prod_into_own_reach(self):
        self.assertEqual(self.cert("lab/db"), 201)
        self.refused("PUT", "/v1/targets/prod/db",
                     {"labels": {"env": "lab"}},
                     words="widen your own access (%s@prod/db)" % LOGIN)
        t = self.i.ok("GET", "/v1/targets", token=self.tokens["ann"])
        labels = {x["name"]: x["labels"] for x in t["targets"]}
        self.assertEqual(labels["prod/db"], {"env": "prod"})
        self.assertEqual(self.cert("prod/db"), 403)

    def test_finding2_roles_write_admin_removes_star_from_admin_role(self):
        self.refused("PUT", "/v1/roles/admin", {"admin": ["users:read"]},
                     words="take the * permission from")
        role = self.i.ok("GET", "/v1/roles/admin", token=self.admin)
        self.assertEqual(role["admin"], ["*"])

    def test_finding2_roles_write_admin_force_deletes_star_role(self):
        self.refused("DELETE", "/v1/roles/admin?force=true",
                     words="take the * permission from")
        self.i.ok("GET", "/v1/roles/admin", token=self.admin)

    def test_finding2_bindings_write_admin_deletes_a_star_binding(self):
        bid = self.bindings[("admin", "user:rex")]
        self.refused("DELETE", "/v1/bindings/%d" % bid,
                     words="take the * permission from rex")
        ids = [b["id"] for b in self.i.ok("GET", "/v1/bindings",
                                          token=self.admin)["bindings"]]
        self.assertIn(bid, ids)

    def test_finding2_engineer_reads_no_targets_roles_or_snippets(self):
        for path in ("/v1/targets", "/v1/roles", "/v1/roles/admin",
                     "/v1/targets/prod/db/sshd", "/v1/bindings"):
            self.refused("GET", path, who="bob")
        # X:write implies X:read.
        self.i.ok("GET", "/v1/targets/prod/db/sshd", token=self.tokens["ann"])
        self.i.ok("GET", "/v1/roles", token=self.tokens["ann"])

    def test_guard_reset_of_a_stronger_account_is_refused(self):
        self.refused("POST", "/v1/users/rex/reset",
                     words="give rex the * permission")
        # The account still works.
        self.i.ok("GET", "/v1/me", token=self.tokens["rex"])

    def test_guard_granting_others_within_own_permissions_is_allowed(self):
        i = self.i
        i.ok("PATCH", "/v1/users/bob", {"groups": ["dba"]},
             token=self.tokens["ann"])
        i.ok("PATCH", "/v1/users/bob", {"groups": []},
             token=self.tokens["ann"])
        # Not a permission ann lacks, neither given nor taken.
        self.refused("POST", "/v1/bindings", {"role": "auditor",
                                              "subject": "user:bob"})
        b = i.ok("POST", "/v1/bindings", {"role": "auditor",
                                          "subject": "user:bob"},
                 token=self.tokens["rex"], want=201)
        self.refused("DELETE", "/v1/bindings/%d" % b["id"],
                     words="take the audit:read permission from bob")
        i.call("DELETE", "/v1/bindings/%d" % b["id"],
               token=self.tokens["rex"])

    def test_guard_own_role_may_narrow_but_not_widen(self):
        self.refused("PUT", "/v1/roles/admin", {
            "admin": ["*"], "rules": [{"targets": ["**"],
                                       "logins": [LOGIN]}]},
            who="admin", words="widen your own access")
        self.refused("PUT", "/v1/roles/labops", {
            "rules": [{"targets": ["**"], "logins": [LOGIN]}]},
            words="widen your own access (%s@prod/db)" % LOGIN)
        self.i.ok("PUT", "/v1/roles/labops", {
            "rules": [{"labels": {"env": "lab"}, "logins": [LOGIN]}],
            "max_ttl": 600}, token=self.tokens["ann"])
        self.i.ok("PUT", "/v1/roles/labops", {
            "rules": [{"labels": {"env": "lab"}, "logins": [LOGIN]}]},
            token=self.tokens["rex"])

    def test_guard_last_full_admin_keeps_star(self):
        self.refused("PUT", "/v1/roles/admin", {"admin": ["users:read"]},
                     who="admin", words="no one who can log in holding")

    def test_guard_refusals_change_nothing_and_are_not_audited_as_done(self):
        events = harness.all_events(self.i, self.admin)
        harness.verify_chain(events)
        for e in events:
            if e["action"] in ("role.put", "role.delete", "target.put",
                               "binding.delete", "user.update"):
                self.assertFalse(
                    e["actor"] == "ann" and e["object"] in (
                        "admin", "prod/db"), e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
