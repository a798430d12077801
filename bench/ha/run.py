#!/usr/bin/env python3
"""Issuance on LMDB against PostgreSQL (make bench, benchmark 'ha').

In one run on this machine, POST /v1/certs over HTTPS from 64 keep-alive
clients (bench/http/loadgen issue) for HABENCH_SECONDS (default 10) on:

  1. LMDB: one tesserad on its data directory;
  2. PostgreSQL: one tesserad on a database of a local cluster
     (tests/lib/pgcluster.py: a temporary cluster, unix socket, fsync on);
  3. two tesserad instances on one fresh database of that cluster, same
     keys and configuration, each with its own data directory: two load
     generators of 32 clients, one per instance, at the same time (rates
     summed, p99 the worse of the two);
  4. and 5. one, then two instances as in 2. and 3., each tesserad held
     to HABENCH_CAP CPUs (default 0.5) by a cgroup of its own, as an
     instance on a node of its own is held to that node's cores; the
     cluster and the load generators are not held.  Runs 2 and 3 share
     this machine's cores between the instances, the cluster and the load
     generators, so there a second instance has no cores to bring; 4 and
     5 measure what a second instance brings when it has its own.  When
     no cgroup can be made (cgroup v1 cpu or v2 cpu.max), 4 and 5 are
     skipped and said so.

Each store is new, with the same admin, target, role and user as
bench/http (whose set-up this reuses).  Prints certificates/s, p50, p99
and non-2xx for each, the CPU tesserad and PostgreSQL used per
certificate, and the issue's targets: PostgreSQL >= 0.5 x LMDB's
certificates/s, p99 <= 2 x LMDB's, zero non-2xx, two instances together
>= one (judged on 4. and 5.; the ratio of 3. to 2. is printed too).  Exits 0 whatever the figures are; non-zero only when the run
itself broke.  HABENCH_ROUNDS=N (default 1) measures the three N times,
alternately, and reports each one's median run (the figures of a shared
virtual machine drift by tens of percent within minutes);
HABENCH_SECONDS=S; HABENCH_KEEP=1 keeps the temporary directory;
HABENCH_PERF=PREFIX records the whole machine (perf record -a -g) for
the first 5 s of each run into PREFIX.<run> (lmdb0, pg0, pgtwo0, lmdb1,
...)."""

import importlib.util
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import pgcluster  # noqa: E402  (tests/lib)


def load_http():
    """bench/http/run.py as a module (its main() does not run)."""
    spec = importlib.util.spec_from_file_location(
        "httpbench", os.path.join(HERE, "..", "http", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hb = load_http()
CLIENTS = 64
SECONDS = int(os.environ.get("HABENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("HABENCH_ROUNDS", "1"))
CAP = float(os.environ.get("HABENCH_CAP", "0.5"))


class CpuCap:
    """A cgroup of its own holding a process to `cpus` CPUs: cgroup v1's
    cpu controller (cfs quota) or v2's cpu.max.  ok is False when neither
    could be made (not root, no cpu controller)."""

    PERIOD = 100000

    def __init__(self, name, cpus):
        self.dir, self.ok = None, False
        quota = int(cpus * self.PERIOD)
        for root, v2 in (("/sys/fs/cgroup/cpu", False),
                         ("/sys/fs/cgroup", True)):
            d = os.path.join(root, name)
            try:
                if v2:
                    with open(os.path.join(root, "cgroup.subtree_control"),
                              "w") as f:
                        f.write("+cpu")
                os.mkdir(d)
            except OSError:
                continue
            try:
                if v2:
                    self.write(d, "cpu.max", "%d %d" % (quota, self.PERIOD))
                else:
                    self.write(d, "cpu.cfs_period_us", str(self.PERIOD))
                    self.write(d, "cpu.cfs_quota_us", str(quota))
            except OSError:
                os.rmdir(d)
                continue
            self.dir, self.ok = d, True
            return

    @staticmethod
    def write(d, name, value):
        with open(os.path.join(d, name), "w") as f:
            f.write(value)

    def add(self, pid):
        self.write(self.dir, "cgroup.procs", str(pid))

    def remove(self):
        """Once its processes have exited."""
        if self.dir:
            end = time.monotonic() + 10
            while True:
                try:
                    os.rmdir(self.dir)
                    break
                except OSError:
                    if time.monotonic() > end:
                        raise
                    time.sleep(0.05)
            self.dir = None


def cap_works():
    c = CpuCap("tessera-habench-probe-%d" % os.getpid(), CAP)
    c.remove()
    return c.ok


def median(reports):
    """The report of the median certificates/s (the lower middle one)."""
    return sorted(reports, key=lambda r: r["ok_rate"])[
        (len(reports) - 1) // 2]


def children(pid):
    """pid and its children's pids (a postmaster's backends)."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [pid] + [int(c) for c in f.read().split()]
    except OSError:
        return []


def cpu_of(pids):
    """{pid: CPU seconds} of the pids still there."""
    out = {}
    for p in pids:
        try:
            out[p] = hb.cpu_seconds(p)
        except OSError:
            pass
    return out


class Run:
    """One configuration: its tesserad processes, ports and token."""

    def __init__(self, name, tmp, exes, store=None):
        self.name, self.exes, self.store = name, exes, store
        self.dir = os.path.join(tmp, name)
        os.mkdir(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.admin_enroll = hb.init_data(exes["tessera"], self.data, store)
        self.conf = os.path.join(self.data, "tesserad.conf")
        self.cafile = os.path.join(self.data, "tls.crt")
        self.procs, self.ports = [], []

    def start(self, data=None):
        """A tesserad on this run's configuration; data: its own data
        directory (another instance on the same store)."""
        n = len(self.procs)
        env = hb.daemon_env(os.path.join(self.dir, "audit%d.jsonl" % n))
        if data is not None:
            os.mkdir(data, 0o700)
            env["TESSERA_DATA_DIR"] = data
        proc, port = hb.start_daemon(
            self.exes["tesserad"], self.conf, env, data or self.data,
            os.path.join(self.dir, "tesserad%d.log" % n))
        self.procs.append(proc)
        self.ports.append(port)
        return port

    def url(self, i):
        return "https://127.0.0.1:%d" % self.ports[i]

    def stop(self):
        """Every instance stopped: True when each exited 0 on SIGTERM."""
        ok = True
        for p in self.procs:
            ok = hb.stop_daemon(p) == 0 and ok
        self.procs = []
        return ok


def issue(gen, gens, token, perf=None, pg=None):
    """The load generator gen once per (url, clients, tesserad pid,
    cafile) in gens, all at once for SECONDS: their reports combined,
    with the CPU tesserad (those pids) and the cluster (pg: its
    postmaster's pid) spent per certificate.  perf: a file for perf
    record -a -g over the first 5 s."""
    tpids = [g[2] for g in gens]
    pgpids = children(pg) if pg else []
    rec = None
    if perf:
        rec = subprocess.Popen(
            ["perf", "record", "-a", "-g", "-q", "-o", perf, "--", "sleep",
             str(min(SECONDS, 5))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c0 = cpu_of(tpids + pgpids)
    procs = [subprocess.Popen(
        [gen, "issue", "--url", url, "--cacert", cafile, "--threads",
         str(n), "--duration", str(SECONDS), "--token", token,
         "--target", "bench/api", "--login", "app"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for url, n, _, cafile in gens]
    reps = []
    for p in procs:
        out, err = p.communicate(timeout=SECONDS + 120)
        if p.returncode != 0:
            raise hb.Broke("loadgen issue: exit %d: %s" % (p.returncode,
                                                           err.strip()))
        reps.append(json.loads(out))
    # Backends the pool opened during the run count from zero.
    pgpids = sorted(set(pgpids) | set(children(pg) if pg else []))
    c1 = cpu_of(tpids + pgpids)
    if rec is not None:
        rec.wait(timeout=60)
    ok = sum(r["ok"] for r in reps)

    def spent(pids):
        return sum(c1[p] - c0.get(p, 0.0) for p in pids if p in c1)
    return {
        "ok": ok,
        "ok_rate": sum(r["ok_rate"] for r in reps),
        "p50_ms": max(r["p50_ms"] for r in reps),
        "p99_ms": max(r["p99_ms"] for r in reps),
        "non2xx": sum(r["non2xx"] for r in reps),
        "transport_errors": sum(r["transport_errors"] for r in reps),
        "tesserad_us": 1e6 * spent(tpids) / max(ok, 1),
        "postgres_us": 1e6 * spent(pgpids) / max(ok, 1),
        "each": reps,
    }


XACTS = ("SELECT xact_commit, xact_rollback FROM pg_stat_database "
         "WHERE datname = '%s'")


def measure(exes, name, tmp, cluster=None, instances=1, cap=False):
    """A fresh store (LMDB, or a database `name` on cluster), `instances`
    tesserads on it, CLIENTS clients split evenly between them: the
    combined report.  cap: each tesserad held to CAP CPUs (CpuCap)."""
    store = pm = None
    if cluster is not None:
        store, pm = cluster.createdb(name), cluster.pid()
    r = Run(name, tmp, exes, store)
    caps = []
    try:
        r.start()
        for i in range(1, instances):
            r.start(os.path.join(r.dir, "data%d" % i))
        for i, p in enumerate(r.procs if cap else []):
            caps.append(CpuCap("tessera-habench-%d-%s-%d"
                               % (os.getpid(), name, i), CAP))
            if not caps[-1].ok:
                raise hb.Broke("no cgroup for the CPU cap")
            caps[-1].add(p.pid)
        token = hb.bench_user(hb.Api(r.url(0), r.cafile), r.admin_enroll)
        gens = [(r.url(i), CLIENTS // instances, r.procs[i].pid, r.cafile)
                for i in range(instances)]
        perf = os.environ.get("HABENCH_PERF")
        # Every run from the same quiet start: the previous run's dirty
        # pages written back (an LMDB run leaves some 200 MB for the
        # kernel to write during the next), and no checkpoint of the
        # cluster due from the WAL earlier runs wrote (about 1.8 KB a
        # certificate; max_wal_size 1 GB).
        os.sync()
        if cluster is not None:
            cluster.psql("CHECKPOINT")
        x0 = cluster.psql(XACTS % name) if cluster else "0|0"
        rep = issue(exes["loadgen"], gens, token,
                    "%s.%s" % (perf, name) if perf else None, pm)
        rep["alive"] = all(p.poll() is None for p in r.procs)
    finally:
        clean = r.stop()
        for c in caps:
            c.remove()
    rep["clean_exit"] = clean
    # Transactions per certificate, counted once the instances' backends
    # have exited (each reports its counts then at the latest).
    x1 = "0|0"
    if cluster is not None:
        end = time.monotonic() + 30
        while cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                           "datname = '%s'" % name) != "0":
            if time.monotonic() > end:
                raise hb.Broke("the instances' connections outlived them")
            time.sleep(0.05)
        x1 = cluster.psql(XACTS % name)
    d = [(int(b) - int(a)) / max(rep["ok"], 1)
         for a, b in zip(x0.split("|"), x1.split("|"))]
    rep["commits_per_cert"], rep["rollbacks_per_cert"] = d
    return rep


def line(name, r):
    pg = ", PostgreSQL %.0f us" % r["postgres_us"] if r["postgres_us"] \
        else ""
    print("%-26s %5.0f certs/s  p50 %6.2f ms  p99 %6.2f ms  non-2xx %d, "
          "transport errors %d; CPU per certificate: tesserad %.0f us%s"
          % (name, r["ok_rate"], r["p50_ms"], r["p99_ms"], r["non2xx"],
             r["transport_errors"], r["tesserad_us"], pg))


def main():
    build = os.environ.get("TESSERA_BUILD_DIR") or \
        os.path.join(ROOT, "build")
    exes = {"tessera": hb.find_exe(build, "tessera", "cli/tessera"),
            "tesserad": hb.find_exe(build, "tesserad"),
            "loadgen": hb.find_exe(build, "bench/http/loadgen")}
    tmp = tempfile.mkdtemp(prefix="habench.")
    cluster = None
    runs = {"lmdb": [], "pg": [], "pg2": [], "cap1": [], "cap2": []}
    capped = cap_works()
    try:
        cluster = pgcluster.Cluster()
        cluster.start()
        # Round after round, so that a host whose speed drifts slows
        # every configuration alike; each figure is the median run's.
        for k in range(ROUNDS):
            runs["lmdb"].append(measure(exes, "lmdb%d" % k, tmp))
            runs["pg"].append(measure(exes, "pg%d" % k, tmp, cluster, 1))
            runs["pg2"].append(measure(exes, "pgtwo%d" % k, tmp, cluster,
                                       2))
            if capped:
                runs["cap1"].append(measure(exes, "capone%d" % k, tmp,
                                            cluster, 1, cap=True))
                runs["cap2"].append(measure(exes, "captwo%d" % k, tmp,
                                            cluster, 2, cap=True))
        fsync = cluster.psql("SHOW fsync")
    finally:
        if cluster is not None:
            cluster.cleanup()
        if os.environ.get("HABENCH_KEEP") == "1":
            print("data kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    lmdb, pg1, pg2 = (median(runs[k]) for k in ("lmdb", "pg", "pg2"))
    load = os.getloadavg()
    print("== issuance on LMDB and PostgreSQL ==")
    print("machine: %d cores, load average %.2f %.2f %.2f; %d clients, "
          "%d s each, %d round(s), medians; PostgreSQL fsync = %s"
          % (os.cpu_count() or 1, load[0], load[1], load[2], CLIENTS,
             SECONDS, ROUNDS, fsync or "?"))
    if ROUNDS > 1:
        for k, name in (("lmdb", "LMDB"), ("pg", "PostgreSQL"),
                        ("pg2", "two instances"),
                        ("cap1", "one at %.1f CPU" % CAP),
                        ("cap2", "two at %.1f CPU each" % CAP)):
            if not runs[k]:
                continue
            print("  %s certs/s by round: %s" % (name, ", ".join(
                "%.0f" % r["ok_rate"] for r in runs[k])))
    line("LMDB, one instance", lmdb)
    line("PostgreSQL, one instance", pg1)
    line("PostgreSQL, two instances", pg2)
    cap1 = cap2 = None
    if capped:
        cap1, cap2 = median(runs["cap1"]), median(runs["cap2"])
        line("one instance, %.1f CPU" % CAP, cap1)
        line("two, %.1f CPU each" % CAP, cap2)
    else:
        print("no cgroup could hold an instance to %.1f CPU (cgroup v1 cpu "
              "or v2 cpu.max, as root): runs 4 and 5 skipped" % CAP)
    print("PostgreSQL transactions per certificate (pg_stat_database): "
          "one instance %.3f committed, %.2f rolled back (read-only); two "
          "instances %.3f and %.2f" % (
              pg1["commits_per_cert"], pg1["rollbacks_per_cert"],
              pg2["commits_per_cert"], pg2["rollbacks_per_cert"]))
    for i, e in enumerate(pg2["each"]):
        print("  instance %d: %.0f certs/s, p99 %.2f ms, statuses %s"
              % (i + 1, e["ok_rate"], e["p99_ms"], json.dumps(e["status"])))
    rate = pg1["ok_rate"] / lmdb["ok_rate"] if lmdb["ok_rate"] else 0.0
    tail = pg1["p99_ms"] / lmdb["p99_ms"] if lmdb["p99_ms"] else 0.0
    shared = pg2["ok_rate"] / pg1["ok_rate"] if pg1["ok_rate"] else 0.0
    two = cap2["ok_rate"] / cap1["ok_rate"] if capped and \
        cap1["ok_rate"] else 0.0
    every = [r for rs in runs.values() for r in rs]
    errs = sum(r["non2xx"] + r["transport_errors"] for r in every)
    targets = [
        ("PostgreSQL certs/s >= 0.5 x LMDB's", rate >= 0.5, "%.2f x" % rate),
        ("PostgreSQL p99 <= 2 x LMDB's", 0 < tail <= 2.0, "%.2f x" % tail),
        ("zero non-2xx (every run)", errs == 0,
         "%d non-2xx or transport errors" % errs),
        ("two instances together >= one, each on %.1f CPU" % CAP,
         two >= 1.0, "%.2f x" % two if capped else "not measured"),
        ("instances alive, then exit 0 on SIGTERM",
         all(r["alive"] and r["clean_exit"] for r in every),
         "%d of %d runs" % (sum(1 for r in every
                                if r["alive"] and r["clean_exit"]),
                            len(every))),
    ]
    print("two instances sharing this machine's cores with the cluster and "
          "the load generators: %.2f x one (no cores to bring: not the "
          "target's measure)" % shared)
    print("targets:")
    for name, ok, what in targets:
        print("  %-50s %s  (%s)" % (name, "PASS" if ok else "FAIL", what))
    for rs in runs.values():
        for r in rs:
            del r["each"]
    print("json:", json.dumps(runs))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except hb.Broke as e:
        print("habench: %s" % e, file=sys.stderr)
        sys.exit(1)
