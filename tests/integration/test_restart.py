"""Restarts of a real tesserad on one data directory: a clean SIGTERM keeps
sessions and serials; a SIGKILL in the middle of a burst of issuances
loses nothing a client was given (every 201 has its certificate record
and its cert.issue audit event, the chain verifies); SIGTERM under load
lets in-flight requests finish and exits 0.

One data directory for the file; the tests run in name order and each
leaves tesserad running for the next."""

import http.client
import json
import os
import pwd
import signal
import threading
import time
import unittest

import harness

LOGIN = pwd.getpwuid(os.geteuid()).pw_name
THREADS = 4


class Restart(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        cls.i.start()
        i = cls.i
        cls.admin_acct, cls.admin = i.admin()
        cls.carl, cls.tok, cls.pub = i.issuer(cls.admin, "carl", LOGIN)
        cls.received = []          # every serial a client got with 201

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def issue(self):
        b = self.i.ok("POST", "/v1/certs",
                      {"public_key": self.pub, "target": "prod/api",
                       "login": LOGIN, "ttl": 600}, token=self.tok,
                      want=201)
        self.received.append(b["serial"])
        return b

    def listed_serials(self):
        return {c["serial"] for c in self.i.ok(
            "GET", "/v1/certs", token=self.tok)["certificates"]}

    def issued_in_audit(self):
        events = harness.all_events(self.i, self.admin)
        harness.verify_chain(events)
        return events, {e["serial"] for e in events
                        if e["action"] == "cert.issue"}

    def burst(self, stop_with, min_ok=100):
        """THREADS clients issue in a loop; once min_ok certificates came
        back, stop_with() is called on tesserad.  Returns the serials the
        clients received, and how many requests failed at the transport."""
        got, lock = [], threading.Lock()
        errors = [0]
        halt = threading.Event()
        body = {"public_key": self.pub, "target": "prod/api",
                "login": LOGIN, "ttl": 600}

        def client():
            while not halt.is_set():
                try:
                    st, _, b = self.i.call("POST", "/v1/certs", body,
                                           token=self.tok)
                except (OSError, ValueError, http.client.HTTPException):
                    with lock:
                        errors[0] += 1
                    if self.i.proc is None or \
                            self.i.proc.poll() is not None:
                        return
                    continue
                if st == 201:
                    with lock:
                        got.append(b["serial"])
                elif st != 503:
                    raise AssertionError("issue during burst: %d %r"
                                         % (st, b))
        threads = [threading.Thread(target=client) for _ in range(THREADS)]
        for t in threads:
            t.start()
        try:
            harness.wait_for(lambda: len(got) >= min_ok,
                             "%d issuances" % min_ok, timeout=120)
            rc = stop_with()
        finally:
            halt.set()
            for t in threads:
                t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads))
        return got, errors[0], rc

    # ---- tests, in order

    def test_0_policy_answers_survive_restart(self):
        # What PUT answers is what is stored: GET gives the same body,
        # before and after a restart, bookkeeping included.
        put_t = self.i.ok("PUT", "/v1/targets/prod/db",
                          {"labels": {"env": "prod"}}, token=self.admin)
        put_r = self.i.ok("PUT", "/v1/roles/dba",
                          {"rules": [{"targets": ["prod/db"],
                                      "logins": [LOGIN]}],
                           "max_ttl": "2h"}, token=self.admin)
        self.assertEqual(put_t["updated_by"], "admin")
        self.assertEqual(put_r["updated_by"], "admin")
        self.assertLessEqual(abs(put_r["updated_at"] - time.time()), 60)

        def stored():
            targets = self.i.ok("GET", "/v1/targets", token=self.admin)
            targets = targets.get("targets", targets)
            return ([t for t in targets if t["name"] == "prod/db"],
                    self.i.ok("GET", "/v1/roles/dba", token=self.admin))
        self.assertEqual(stored(), ([put_t], put_r))
        self.assertEqual(self.i.stop(), 0, self.i.tail())
        self.i.start()
        self.assertEqual(stored(), ([put_t], put_r))

    def test_1_sigterm_restart_keeps_sessions_and_serials(self):
        first = self.issue()
        rc = self.i.stop()
        self.assertEqual(rc, 0, self.i.tail())
        self.i.start()
        # The same bearer token still works.
        me = self.i.ok("GET", "/v1/me", token=self.tok)
        self.assertEqual(me["username"], "carl")
        second = self.issue()
        self.assertGreater(second["serial"], first["serial"])
        self.assertLessEqual({first["serial"], second["serial"]},
                             self.listed_serials())
        # The admin's session survived too.
        self.i.ok("GET", "/v1/users", token=self.admin)

    def test_2_sigkill_mid_burst_loses_nothing_returned(self):
        before_max = max(self.received) if self.received else 0
        got, errors, rc = self.burst(
            lambda: self.i.stop(signal.SIGKILL))
        self.assertEqual(rc, -signal.SIGKILL)
        self.assertTrue(got)
        self.assertEqual(len(got), len(set(got)), "a serial given twice")
        self.assertGreater(min(got), before_max)
        self.received.extend(got)

        self.i.start()
        # Every certificate a client received has its record ...
        listed = self.listed_serials()
        missing = set(got) - listed
        self.assertFalse(missing, "certificates returned but not recorded"
                         ": %s" % sorted(missing))
        # ... and its cert.issue event, in a chain that verifies.
        events, audited = self.issued_in_audit()
        missing = set(got) - audited
        self.assertFalse(missing, "certificates returned without a "
                         "cert.issue event: %s" % sorted(missing))
        # Records and events agree: nothing half-written either way.
        self.assertEqual(listed, audited)
        # The session is still good and serials keep increasing past
        # everything issued before the kill (even if not returned).
        after = self.issue()
        self.assertGreater(after["serial"], max(audited))

    def test_3_audit_file_complete_after_kill(self):
        # The file sink resumes after the last seq it holds: after the
        # restart it catches up, with no gap and no repeat.
        events, _ = self.issued_in_audit()
        head = events[-1]["seq"]
        path = os.path.join(self.i.dir, "audit.log")

        def seqs():
            try:
                with open(path) as f:
                    lines = [json.loads(ln) for ln in f if ln.strip()]
            except (OSError, ValueError):
                return None
            # Signed checkpoints share the stream; they repeat a seq.
            s = [o["seq"] for o in lines if o.get("type") != "checkpoint"]
            return s if s and s[-1] >= head else None
        s = harness.wait_for(seqs, "audit.log up to seq %d" % head,
                             timeout=30)
        self.assertEqual(s, list(range(1, len(s) + 1)))

    def test_4_sigterm_under_load(self):
        got, errors, rc = self.burst(self.i.stop)
        self.assertEqual(rc, 0, self.i.tail())
        self.received.extend(got)
        self.i.start()
        listed = self.listed_serials()
        self.assertFalse(set(got) - listed)
        _, audited = self.issued_in_audit()
        self.assertFalse(set(got) - audited)

    def test_5_offline_verify(self):
        self.assertEqual(len(self.received), len(set(self.received)))
        self.assertEqual(self.i.stop(), 0, self.i.tail())
        v = self.i.tessera("audit", "verify", "--data",
                           self.i.store or self.i.data,
                           check=False)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.i.start()       # tearDownClass stops it; leave it usable


if __name__ == "__main__":
    unittest.main(verbosity=2)
