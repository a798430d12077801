"""Audit for a SIEM (issue 16) on a real tesserad: the audit stream is the
audit stream alone, and a sink that cannot deliver keeps every event.

- audit_log = -: the audit stream is stderr and the text log moves to
  stdout; every line of stderr is one JSON object (`jq -c .` takes it),
  and the events are the store's, each once, in order.  With the reader
  of stderr gone (a broken pipe) tesserad keeps serving, the lag grows,
  the outage is logged once and the undelivered range at stop.
- audit_log = syslog:PATH with a receiver the test binds (a unix datagram
  socket, as /dev/log is): events arrive once each in order; with the
  receiver gone tesserad keeps serving, tessera_audit_sink_lag_events
  grows and nothing is dropped; bound again, the backlog arrives in order
  exactly once and the lag returns to 0.  The outage is logged once and
  its end once."""

import json
import os
import re
import socket
import subprocess
import time
import unittest

import harness

SYSLOG = re.compile(r"^<86>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
                    r"tesserad\[(\d+)\]: (\{.*\})$")


def metric(inst, name):
    return int(inst.metric(name))


def activity(inst, acct, token, pub):
    """A few audited actions: a login, a refused login, a certificate."""
    inst.login(acct)
    st, _, _ = inst.call("POST", "/v1/login", {
        "username": acct.name, "password": "wrong password!!",
        "code": "000000"})
    assert st == 401, st
    inst.ok("POST", "/v1/certs", {"public_key": pub, "ttl": 600},
            token=token, want=201)


class Receiver:
    """A syslog receiver: a unix datagram socket bound at path."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)

    def take(self, until, what, timeout=30.0):
        """Datagrams as (pid, object), until until(list) holds."""
        got, deadline = [], time.monotonic() + timeout
        while not until(got):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for " + what +
                                     "; got %r" % got)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            m = SYSLOG.match(data.decode())
            assert m, "not a syslog line: %r" % data
            got.append((int(m.group(1)), json.loads(m.group(2))))
        return got

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def whole_log(inst):
    with open(os.path.join(inst.dir, "tesserad.log"), "rb") as f:
        return f.read().decode(errors="replace")


def seqs(objs):
    return [o["seq"] for o in objs if o.get("type") != "checkpoint"]


class AuditSink(unittest.TestCase):
    def setUp(self):
        self.inst = harness.Instance()
        self.inst.metrics_token()
        self.rcv = None

    def tearDown(self):
        if self.rcv is not None:
            self.rcv.sock.close()
        self.inst.close()

    def start_with_admin(self):
        """Start; (admin token, issuer account, its token, its key)."""
        inst = self.inst
        inst.start(stderr=self.err)
        _, tok = inst.admin()
        acct, utok, pub = inst.issuer(tok, "alice", "app")
        return tok, acct, utok, pub

    def test_stderr_is_audit_only_and_log_goes_to_stdout(self):
        inst = self.inst
        inst.env["TESSERA_AUDIT_LOG"] = "-"
        errpath = os.path.join(inst.dir, "stderr")
        self.err = open(errpath, "wb")
        tok, acct, utok, pub = self.start_with_admin()
        activity(inst, acct, utok, pub)
        self.assertEqual(inst.stop(), 0)
        self.err.close()
        inst.start()
        want = harness.all_events(inst, tok)
        inst.stop()

        # jq takes the whole stream, and every line is one object.
        with open(errpath) as f:
            subprocess.run(["jq", "-c", "."], stdin=f, check=True,
                           capture_output=True)
        with open(errpath) as f:
            lines = f.read().splitlines()
        objs = [json.loads(ln) for ln in lines]
        self.assertTrue(all(isinstance(o, dict) for o in objs))
        got = seqs(objs)
        self.assertGreater(len(got), 10)
        # The stream starts at the head when tesserad started (tessera
        # init's events came before): from there, each event once, in
        # order, exactly as the store holds it.
        byseq = {e["seq"]: e for e in want}
        self.assertEqual(got, list(range(got[0], got[0] + len(got))))
        self.assertEqual(got[-1], want[-1]["seq"])
        for o in objs:
            if o.get("type") != "checkpoint":
                self.assertEqual(o, byseq[o["seq"]])
        self.assertIn("cert.issue", [o.get("action") for o in objs])
        self.assertIn("login.fail", [o.get("action") for o in objs])
        # The text log went to stdout: tesserad.log has the first run's
        # stdout (its stderr went to its own file) and the second's both.
        self.assertEqual(whole_log(inst).count(" info tesserad listening "
                                               "on "), 2)

    def test_broken_pipe_keeps_events_and_serving(self):
        inst = self.inst
        inst.env["TESSERA_AUDIT_LOG"] = "-"
        r, w = os.pipe()
        self.err = w
        tok, acct, utok, pub = self.start_with_admin()
        os.close(w)
        os.close(r)		# the reader of the audit stream goes away
        activity(inst, acct, utok, pub)
        activity(inst, acct, utok, pub)
        harness.wait_for(lambda: metric(
            inst, "tessera_audit_sink_lag_events") >= 6, "a lag")
        self.assertGreater(metric(
            inst, "tessera_audit_sink_failures_total"), 0)
        head = harness.all_events(inst, tok)[-1]["seq"]
        self.assertEqual(inst.stop(), 0)
        log = whole_log(inst)
        self.assertEqual(log.count("audit sink -: cannot deliver"), 1, log)
        self.assertIn("Broken pipe", log)
        self.assertRegex(log, r"audit sink -: stopping with events \d+ to "
                         r"%d not delivered" % head)

    def start_syslog(self):
        """Start with a receiver bound; its path, then start_with_admin's."""
        path = os.path.join(self.inst.dir, "log.sock")
        self.rcv = Receiver(path)
        self.inst.env["TESSERA_AUDIT_LOG"] = "syslog:" + path
        self.err = None
        return (path,) + self.start_with_admin()

    def test_syslog_receiver_gone_and_back(self):
        inst = self.inst
        path, tok, acct, utok, pub = self.start_syslog()
        activity(inst, acct, utok, pub)
        events = harness.all_events(inst, tok)
        last = events[-1]["seq"]
        # Arrived: once each, in order, up to the newest, from tesserad.
        got = self.rcv.take(lambda g: last in seqs(o for _, o in g),
                            "events up to %d" % last)
        first = seqs(o for _, o in got)
        self.assertEqual(first, list(range(first[0], last + 1)))
        self.assertEqual({pid for pid, _ in got}, {inst.proc.pid})
        harness.wait_for(lambda: metric(
            inst, "tessera_audit_sink_lag_events") == 0, "lag 0")
        self.assertEqual(metric(inst, "tessera_audit_sink_failures_total"),
                         0)

        # The receiver goes: tesserad keeps serving, the lag grows.
        self.rcv.close()
        self.rcv = None
        for _ in range(3):
            activity(inst, acct, utok, pub)
        events = harness.all_events(inst, tok)
        backlog = events[-1]["seq"] - last
        self.assertGreaterEqual(backlog, 9)
        harness.wait_for(lambda: metric(
            inst, "tessera_audit_sink_lag_events") == backlog,
            "lag %d" % backlog)
        self.assertGreater(metric(
            inst, "tessera_audit_sink_failures_total"), 0)
        harness.wait_for(lambda: "cannot deliver event %d" % (last + 1)
                         in whole_log(inst), "the outage in the log")

        # Back: the backlog arrives once each, in order; lag 0.
        self.rcv = Receiver(path)
        end = events[-1]["seq"]
        got = self.rcv.take(lambda g: end in seqs(o for _, o in g),
                            "the backlog up to %d" % end)
        harness.wait_for(lambda: metric(
            inst, "tessera_audit_sink_lag_events") == 0, "lag back to 0")
        # Nothing more is pending: no repeat arrives after the last.
        self.rcv.sock.settimeout(0.5)
        try:
            extra = self.rcv.sock.recv(65536)
        except socket.timeout:
            extra = None
        if extra is not None:
            m = SYSLOG.match(extra.decode())
            self.assertEqual(json.loads(m.group(2)).get("type"),
                             "checkpoint", extra)
        objs = [o for _, o in got]
        self.assertEqual(seqs(objs), list(range(last + 1, end + 1)))
        byseq = {e["seq"]: e for e in events}
        for o in objs:
            if o.get("type") != "checkpoint":
                self.assertEqual(o, byseq[o["seq"]])
        log = whole_log(inst)
        self.assertEqual(log.count("audit sink syslog:"), 2, log)
        self.assertIn("delivering again", log)
        self.assertEqual(inst.stop(), 0)

    def test_syslog_backlog_survives_a_restart(self):
        """Undelivered at the stop, delivered after the start: the
        cursor's file, not the head, says where a stream resumes."""
        inst = self.inst
        path, tok, acct, utok, pub = self.start_syslog()
        last = harness.all_events(inst, tok)[-1]["seq"]
        self.rcv.take(lambda g: last in seqs(o for _, o in g),
                      "events up to %d" % last)
        self.rcv.close()
        self.rcv = None
        activity(inst, acct, utok, pub)
        end = harness.all_events(inst, tok)[-1]["seq"]
        self.assertEqual(inst.stop(), 0)
        with open(os.path.join(inst.data, "audit-sink.cursor")) as f:
            self.assertEqual(int(f.read()), last)
        self.rcv = Receiver(path)
        inst.start()
        got = self.rcv.take(lambda g: end in seqs(o for _, o in g),
                            "the backlog up to %d" % end)
        self.assertEqual(seqs(o for _, o in got)[:end - last],
                         list(range(last + 1, end + 1)))
        self.assertIn("resuming after event %d" % last, whole_log(inst))
        self.assertEqual(inst.stop(), 0)


if __name__ == "__main__":
    unittest.main()
