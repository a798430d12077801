#!/usr/bin/env python3
"""The PostgreSQL store across a database failover (tests/lib/pgcluster.py):
one struct store (pg_probe) on a URI naming primary and standby.

- synchronous standby promoted after the primary is killed: writes resume
  without reopening, serials go on without a gap or a repeat;
- asynchronous standby that missed commits: the write counter went back,
  so writes are refused and store_health says unavailable.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "lib"))
import pgcluster  # noqa: E402

PROBE = sys.argv[1]
RESUME_TIMEOUT = 20.0


class Probe:
    def __init__(self, uri):
        self.p = subprocess.Popen([PROBE, uri, "1000"], text=True,
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        assert line, "pg_probe died"
        return line

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=30) == 0


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def write_until_ok(probe):
    end = time.monotonic() + RESUME_TIMEOUT
    while True:
        r = probe.ask("w")
        if r[0] == "ok":
            return int(r[1])
        check(r[0] == "unavailable", "unexpected %r" % r)
        check(time.monotonic() < end, "writes did not resume")
        time.sleep(0.05)


def synchronous():
    c = pgcluster.Cluster().start()
    try:
        c.createdb("t")
        sb = c.add_standby(sync=True)
        probe = Probe(pgcluster.uri_multi("t", [c, sb]))
        got = [int(probe.ask("w")[1]) for _ in range(20)]
        check(got == list(range(1, 21)), "serials %r" % got)
        c.kill()
        sb.promote()
        check(write_until_ok(probe) == 21, "a serial lost or repeated")
        check(probe.ask("h")[0] == "ok", "health after failover")
        probe.close()
    finally:
        c.cleanup()


def lossy():
    c = pgcluster.Cluster().start()
    try:
        c.createdb("t")
        sb = c.add_standby(sync=False)
        probe = Probe(pgcluster.uri_multi("t", [c, sb]))
        for _ in range(5):
            check(probe.ask("w")[0] == "ok", "write on the primary")
        pgcluster._wait(lambda: sb.psql("SELECT n FROM writer", "t") ==
                        c.psql("SELECT n FROM writer", "t"))
        sb.stop()
        for _ in range(5):
            check(probe.ask("w")[0] == "ok", "write on the primary")
        c.kill()
        sb.start()
        sb.promote()
        # The first write may meet the dead connection; every one after
        # reaches the new primary, whose count is behind: refused.
        for _ in range(4):
            r = probe.ask("w")
            check(r[0] == "unavailable", "a write after lost commits: %r" % r)
        check(probe.ask("h")[0] == "unavailable", "health after loss")
        # The database itself is writable: a restarted instance writes.
        fresh = Probe(pgcluster.uri_multi("t", [c, sb]))
        check(fresh.ask("w")[0] == "ok", "a fresh instance cannot write")
        fresh.close()
        probe.close()
    finally:
        c.cleanup()


if __name__ == "__main__":
    synchronous()
    lossy()
    print("failover: ok")
