"""Audit tamper evidence that holds against whoever owns the disk (issue 14
section 6), and a verifier that writes nothing (section 3), on a real
tesserad with a file sink.

The chain's head lives in the store, so someone with the data directory can
rewrite the chain with recomputed hashes, or drop the newest events and
reset the head, and `tessera audit verify` still says intact.  tesserad
signs checkpoints with the audit key (not in the store) into the audit
stream; `audit verify --checkpoints STREAM` catches both.  The tampering
here is what such a person would do: dump the LMDB environment with
mdb_dump, edit it, load it into a fresh environment with mdb_load."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import unittest

import harness

EXIT_BROKEN, EXIT_BAD_SIG, EXIT_MISSING, EXIT_CHANGED = 1, 3, 4, 5
EVERY = 4


def stream(path):
    """(events, checkpoints) of an audit stream, in order."""
    events, ckpts = [], []
    with open(path) as f:
        for ln in f:
            o = json.loads(ln)
            (ckpts if o.get("type") == "checkpoint" else events).append(o)
    return events, ckpts


# -- LMDB dump editing --
def dump(data):
    """mdb_dump -a of data: [(header lines, [[key, value] bytes])]."""
    out = harness.run(["mdb_dump", "-a", data])
    sections, cur, pairs, pending = [], None, None, None
    for ln in out.splitlines():
        if cur is None:
            cur, pairs = [], []
        if pairs is not None and ln.startswith(" "):
            b = bytes.fromhex(ln[1:])
            if pending is None:
                pending = b
            else:
                pairs.append([pending, b])
                pending = None
        elif ln == "DATA=END":
            sections.append((cur, pairs))
            cur, pairs = None, None
        else:
            cur.append(ln)
    return sections


def load(sections, data):
    """A fresh environment in data from edited sections (mdb_load)."""
    text = []
    for hdr, pairs in sections:
        text += hdr
        for k, v in pairs:
            text += [" " + k.hex(), " " + v.hex()]
        text.append("DATA=END")
    os.makedirs(data)
    subprocess.run(["mdb_load", "-f", "/dev/stdin", data],
                   input="\n".join(text) + "\n", text=True, check=True,
                   capture_output=True)


def db(sections, name):
    for hdr, pairs in sections:
        if "database=" + name in hdr:
            return pairs
    raise AssertionError("no database " + name)


def record_event(v):
    """An audit record: 'T' 'A' version, u32 length, the JSON text."""
    assert v[:2] == b"TA", v[:8]
    n = int.from_bytes(v[3:7], "big")
    return json.loads(v[7:7 + n].decode())


def event_record(v, event):
    text = harness.canonical(event).encode()
    return v[:3] + len(text).to_bytes(4, "big") + text


def meta_set(sections, key, value):
    for kv in db(sections, "meta"):
        if kv[0] == key:
            kv[1] = value
            return
    raise AssertionError("no meta key %r" % key)


class AuditCheckpoints(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        i = cls.i
        i.env["TESSERA_AUDIT_CHECKPOINT_EVENTS"] = str(EVERY)
        cls.log = os.path.join(i.dir, "audit.log")
        with open(os.path.join(i.data, "tesserad.conf")) as f:
            cls.conf = f.read()
        i.start()
        _, admin = i.admin()
        for n in range(2 * EVERY):
            i.ok("PUT", "/v1/targets/t%d/api" % n, {"labels": {}},
                 token=admin)
        # While it runs, every EVERY events bring a checkpoint.

        def two():
            try:
                return len(stream(cls.log)[1]) >= 2
            except (OSError, ValueError):   # a line being written
                return False
        harness.wait_for(two, "two checkpoints in audit.log")
        # One event past the last count: stopping signs it.
        i.ok("PUT", "/v1/targets/last/api", {"labels": {}}, token=admin)
        assert i.stop() == 0, i.tail()
        cls.events, cls.ckpts = stream(cls.log)
        cls.pristine = os.path.join(i.dir, "pristine")
        shutil.copytree(i.data, cls.pristine)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def copy(self):
        """A copy of the stopped store's data directory to tamper with."""
        AuditCheckpoints.n += 1
        d = os.path.join(self.i.dir, "copy%d" % self.n)
        shutil.copytree(self.pristine, d)
        return d

    def rebuilt(self, sections):
        AuditCheckpoints.n += 1
        d = os.path.join(self.i.dir, "rebuilt%d" % self.n)
        load(sections, d)
        return d

    def verify(self, data, *extra):
        return self.i.tessera("audit", "verify", "--data", data, *extra,
                              check=False)

    def verify_ckpts(self, data, log=None):
        return self.verify(data, "--checkpoints", log or self.log,
                           "--audit-pubkey",
                           os.path.join(self.pristine, "audit.key.pub"))

    # -- what tesserad writes --
    def test_init_names_the_audit_key(self):
        self.assertRegex(self.conf, r"(?m)^audit_key = \S+/audit\.key$")
        with open(os.path.join(self.pristine, "audit.key.pub")) as f:
            pub = f.read()
        derived = harness.run(["ssh-keygen", "-y", "-f",
                               os.path.join(self.pristine, "audit.key")])
        self.assertEqual(pub.split()[:2], derived.split()[:2])

    def test_checkpoints_follow_the_events_they_sign(self):
        seqs = [c["seq"] for c in self.ckpts]
        self.assertGreaterEqual(len(seqs), 3)
        # Never more than EVERY events apart (a timed one may come
        # sooner); the last one, signed at stop, covers the whole stream.
        gaps = [b - a for a, b in zip([0] + seqs, seqs)]
        self.assertTrue(all(0 < g <= EVERY for g in gaps), seqs)
        self.assertEqual(seqs[-1], self.events[-1]["seq"])
        by_seq = {e["seq"]: e for e in self.events}
        order = []
        with open(self.log) as f:
            for ln in f:
                o = json.loads(ln)
                if o.get("type") == "checkpoint":
                    self.assertEqual(o["hash"], by_seq[o["seq"]]["hash"])
                    # after its event, never before
                    self.assertEqual(order[-1], o["seq"])
                    self.assertRegex(o["key"], r"^SHA256:[A-Za-z0-9+/]{43}$")
                else:
                    order.append(o["seq"])
        self.assertEqual(order, list(range(1, len(order) + 1)))

    def test_untouched_store_passes_checkpoints(self):
        d = self.copy()
        p = self.verify_ckpts(d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("audit chain intact: %d events" % len(self.events),
                      p.stdout)
        self.assertIn("every event up to %d is present and unchanged"
                      % self.events[-1]["seq"], p.stdout)
        # The key can also come from the audit_key tesserad.conf names.
        p = self.verify(self.i.data, "--checkpoints", self.log)
        self.assertEqual(p.returncode, 0, p.stderr)

    # -- section 3: a verifier must be read-only --
    def test_audit_verify_is_read_only(self):
        d = self.copy()

        def state():
            txn = re.search(r"Last transaction ID: (\d+)",
                            harness.run(["mdb_stat", "-e", d])).group(1)
            seq = [v for k, v in db(dump(d), "meta")
                   if k == b"ctr.audit_seq"][0]
            with open(os.path.join(d, "data.mdb"), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            return txn, int.from_bytes(seq, "big"), digest
        before = state()
        for extra in ((), ("--checkpoints", self.log)):
            p = self.verify(d, *extra)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(state(), before)

    # -- section 6: the findings --
    def test_rewritten_chain_with_recomputed_hashes_caught_by_checkpoints(
            self):
        s = dump(self.pristine)
        audit = db(s, "audit")
        prev = "0" * 64
        for kv in audit:
            e = record_event(kv[1])
            if e["seq"] == 3:
                e["actor"] = "nobody"       # what someone wants unsaid
            e["prev"] = prev
            e.pop("hash")
            e["hash"] = hashlib.sha256(
                harness.canonical(e).encode()).hexdigest()
            prev = e["hash"]
            kv[1] = event_record(kv[1], e)
        meta_set(s, b"audit_head", prev.encode())
        d = self.rebuilt(s)
        # The gap: the chain alone still verifies.
        p = self.verify(d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("audit chain intact", p.stdout)
        p = self.verify_ckpts(d)
        self.assertEqual(p.returncode, EXIT_CHANGED, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"event \d+ was changed")
        self.assertIn("the chain was rewritten", p.stderr)

    def test_dropped_newest_events_with_head_reset_caught_by_checkpoints(
            self):
        s = dump(self.pristine)
        audit = db(s, "audit")
        keep = len(audit) - 3
        del audit[keep:]
        last = record_event(audit[-1][1])
        meta_set(s, b"audit_head", last["hash"].encode())
        meta_set(s, b"ctr.audit_seq", keep.to_bytes(8, "big"))
        d = self.rebuilt(s)
        p = self.verify(d)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("audit chain intact: %d events" % keep, p.stdout)
        p = self.verify_ckpts(d)
        self.assertEqual(p.returncode, EXIT_MISSING, p.stdout + p.stderr)
        self.assertIn("event %d is missing: the store ends at event %d"
                      % (self.events[-1]["seq"], keep), p.stderr)

    def test_forged_checkpoint_has_a_bad_signature(self):
        # Rewriting the SIEM's copy too takes the audit key.
        forged = os.path.join(self.i.dir, "forged.log")
        with open(self.log) as f, open(forged, "w") as g:
            for ln in f:
                o = json.loads(ln)
                if o.get("type") == "checkpoint" and \
                        o["seq"] == self.ckpts[0]["seq"]:
                    o["hash"] = "0" * 64
                    ln = json.dumps(o) + "\n"
                g.write(ln)
        p = self.verify_ckpts(self.copy(), forged)
        self.assertEqual(p.returncode, EXIT_BAD_SIG, p.stdout + p.stderr)
        self.assertIn("checkpoint at event %d has a bad signature"
                      % self.ckpts[0]["seq"], p.stderr)
        # Another key, or none in the file at all.
        other = os.path.join(self.i.dir, "other")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     other])
        p = self.verify(self.pristine, "--checkpoints", self.log,
                        "--audit-pubkey", other + ".pub")
        self.assertEqual(p.returncode, EXIT_BAD_SIG, p.stderr)
        empty = os.path.join(self.i.dir, "events-only.log")
        with open(self.log) as f, open(empty, "w") as g:
            g.writelines(ln for ln in f if '"checkpoint"' not in ln)
        p = self.verify_ckpts(self.pristine, empty)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("holds no audit checkpoint", p.stderr)

    def test_altered_event_reported_chain_broken(self):
        s = dump(self.pristine)
        kv = db(s, "audit")[1]
        e = record_event(kv[1])
        e["actor"] = "nobody"               # hash left as it was
        kv[1] = event_record(kv[1], e)
        p = self.verify_ckpts(self.rebuilt(s))
        self.assertEqual(p.returncode, EXIT_BROKEN, p.stderr)
        self.assertIn("audit chain broken at event 2", p.stderr)

    def test_without_audit_key_runs_and_says_so_once(self):
        d = self.copy()
        conf = os.path.join(d, "tesserad.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(re.sub(r"(?m)^audit_key = .*\n", "", text))
        i = harness.Instance.__new__(harness.Instance)
        i.__dict__.update(self.i.__dict__)
        i.data, i.conf, i.proc = d, conf, None
        i.env = dict(self.i.env, TESSERA_AUDIT_LOG=os.path.join(d, "a.log"),
                     TESSERA_DATA_DIR=d)
        try:
            i.start()
            i.stop()
        finally:
            if i.proc is not None:
                i.proc.kill()
                i.proc.wait()
        with open(os.path.join(self.i.dir, "tesserad.log")) as f:
            said = f.read().count("audit_key is not set")
        self.assertEqual(said, 1)
        self.assertEqual(stream(os.path.join(d, "a.log"))[1], [])


if __name__ == "__main__":
    unittest.main()
