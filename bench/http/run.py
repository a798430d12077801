#!/usr/bin/env python3
"""HTTPS service benchmark for tesserad (make bench, benchmark 'http').

Sets up a fresh instance (tessera init --dev, default Argon2 parameters
throughout), an admin, a target, a role granting one login on it, a user
bound to the role and that user's session token, then measures with
bench/http/loadgen:

  0. how steady the host is (bench/http/hostprobe, 4 s, no server work):
     the share of 50 ms windows in which fixed CPU work ran at least twice
     as slow as usual.  On a shared virtual machine such windows come
     every second or two, and a closed loop's p99 lands in them;
  1. raw one-core Ed25519 signatures per second (same OpenSSL, same run),
     measured just before and again just after step 2; the target compares
     with their mean;
  2. POST /v1/certs from 64 keep-alive clients for ~10 s: issuances/s,
     p50/p99 latency, non-2xx answers, and the stall windows (50 ms with
     under half the median completions) with the p99 outside them;
  3. GET /healthz latency with a few clients, idle, and with 64 (the
     HTTP stack's own tail at issuance's concurrency), then during a flood of
     64 clients posting wrong logins (each from its own loopback address,
     as a flood from many hosts would come), which keeps every Argon2 slot
     busy;
  4. tesserad's peak RSS (VmHWM);
  5. POST /v1/certs again from 64 clients for ~6 s, paced (an open loop)
     at half the rate step 2 reached, latency timed from when each
     request was due: the latency below saturation, where a closed loop
     of 64 clients can only show the latency at it.

Prints a report with a pass/fail line per target.  Exits 0 whatever the
figures are (benchmarks report, tests assert); non-zero only when the run
itself broke.  Environment: TESSERA_BUILD_DIR (set by meson); optional
HTTPBENCH_ISSUE_SECONDS, HTTPBENCH_FLOOD_SECONDS, HTTPBENCH_PACED_SECONDS,
HTTPBENCH_PACED_SHARE (default 0.5),
HTTPBENCH_KEEP=1 (keep the
data directory), HTTPBENCH_TESSERAD_ENV="KEY=VALUE ..." (extra tesserad
environment, e.g. TESSERA_ARGON2_MAX_CONCURRENT=1 to compare settings),
HTTPBENCH_PERF=FILE (perf record -g on tesserad during issuance),
HTTPBENCH_TESSERAD=PATH (an experimental tesserad binary),
HTTPBENCH_LOADGEN_PREFIX="perf record -g -o F --" (wraps the issuance
load generator), HTTPBENCH_CALLGRIND=FILE (tesserad under callgrind,
collecting during issuance only), HTTPBENCH_ISSUE_REQUESTS=N (stop
issuance after N requests).
"""

import base64
import hashlib
import hmac
import json
import os
import resource
import shutil
import signal
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ISSUE_CLIENTS = 64
FLOOD_CLIENTS = 64
HEALTH_CLIENTS = 4
ISSUE_SECONDS = int(os.environ.get("HTTPBENCH_ISSUE_SECONDS", "10"))
FLOOD_SECONDS = int(os.environ.get("HTTPBENCH_FLOOD_SECONDS", "12"))
PACED_SECONDS = int(os.environ.get("HTTPBENCH_PACED_SECONDS", "6"))
PACED_SHARE = float(os.environ.get("HTTPBENCH_PACED_SHARE", "0.5"))
PASSWORD = "http bench password 0123"
MIB = 1024 * 1024


class Broke(Exception):
    """The run itself failed (not a missed target)."""


def find_exe(build, *names):
    for n in names:
        p = os.path.join(build, n)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise Broke("none of %s built in %s" % (", ".join(names), build))


def totp(secret_b32, t):
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t) // 30), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    v = struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF
    return "%06d" % (v % 1000000)


class Api:
    def __init__(self, base, cafile):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=cafile)

    def call(self, method, path, body=None, token=None, want=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is not None:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, context=self.ctx,
                                        timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in want:
            raise Broke("%s %s: %d %s" % (method, path, status,
                                          raw[:300].decode("utf-8", "replace")))
        return json.loads(raw) if raw.strip() else None


def enroll(api, token):
    r = api.call("POST", "/v1/enroll/start",
                 {"token": token, "password": PASSWORD})
    secret = r["totp_secret"]
    api.call("POST", "/v1/enroll/finish",
             {"token": token, "code": totp(secret, time.time())})
    return secret


def login(api, user, secret):
    # The code of the next step (window 1): the enrollment spent this one.
    r = api.call("POST", "/v1/login", {"username": user, "password": PASSWORD,
                                       "code": totp(secret, time.time() + 30)})
    return r["token"]


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem",
                     "Threads"):
                out[k] = int(v.split()[0])  # kB, or a count
    return out


class RssSampler(threading.Thread):
    """Peak RssAnon and RssFile of a process, sampled every 20 ms: VmHWM
    is their peak sum, and only the anonymous part is the process's own
    memory (RssFile is mostly the LMDB map: page cache)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.02):
            try:
                st = proc_status(self.pid)
            except OSError:
                return
            for k in self.peak:
                self.peak[k] = max(self.peak[k], st.get(k, 0))


def cpu_seconds(pid):
    """utime + stime of a process, seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid):
    """Context switches, voluntary and not, of every thread of pid."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if "ctxt_switches:" in line:
                        n += int(line.split()[1])
        except OSError:
            pass		# the thread ended meanwhile
    return n


def thread_cpu(pid):
    """CPU seconds of pid's threads, summed by thread name."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue		# the thread ended meanwhile
        name = head.split("(", 1)[1]
        fields = tail.split()
        out[name] = out.get(name, 0.0) + \
            (int(fields[11]) + int(fields[12])) / tick
    return out


def wait_idle(pid, limit=20.0):
    """Until pid uses under 5% of a core for half a second (the flood's
    queued password hashes draining), or limit seconds; returns seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        c0 = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - c0 < 0.025:
            break
    return time.monotonic() - t0


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def tail_factor(run):
    """p99 over the mean latency a closed loop of run's clients implies."""
    if run["rate"] <= 0:
        return 0.0
    return run["p99_ms"] / (1000.0 * run["threads"] / run["rate"])


def loadgen(exe, args, timeout):
    """Run the load generator or the host probe (exe: a path, or a
    command list ending in one) and return its JSON report."""
    cmd = (exe if isinstance(exe, list) else [exe]) + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, text=True)
    if p.returncode != 0:
        raise Broke("%s %s: exit %d: %s" % (
            os.path.basename(cmd[len(cmd) - len(args) - 1]), args[0],
            p.returncode, p.stderr.strip()))
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    return json.loads(p.stdout)


def config_value(conf, env, key, default):
    """A tesserad config value as the daemon will see it."""
    if "TESSERA_" + key.upper() in env:
        return env["TESSERA_" + key.upper()]
    val = default
    with open(conf) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            k, eq, v = line.partition("=")
            if eq and k.strip() == key:
                val = v.strip()
    return val


def init_data(tessera, data, store=None):
    """tessera init --dev in data (with the store on store, a
    postgresql:// URI, when given): the admin's enrollment token."""
    args = [tessera, "init", "--data", data, "--dev", "--admin", "admin"]
    if store is not None:
        args += ["--store", store]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    if p.returncode != 0:
        raise Broke("tessera init: %s" % p.stderr.strip())
    link = [l for l in p.stdout.splitlines() if "/enroll#token=" in l]
    if not link:
        raise Broke("tessera init printed no enrollment link")
    return link[-1].strip().split("#token=", 1)[1]


def daemon_env(audit_log):
    """tesserad's environment: any port, warnings only, the audit file,
    and HTTPBENCH_TESSERAD_ENV on top."""
    env = dict(os.environ)
    env["TESSERA_LISTEN"] = "127.0.0.1:0"
    env["TESSERA_AUDIT_LOG"] = audit_log
    env["TESSERA_LOG_LEVEL"] = "warn"
    for kv in os.environ.get("HTTPBENCH_TESSERAD_ENV", "").split():
        k, _, v = kv.partition("=")
        env[k] = v
    return env


def start_daemon(tesserad, conf, env, data, log_path, wrap=(), timeout=60):
    """Start tesserad (under wrap) on conf, its port file in data, its
    output in log_path: (process, port)."""
    portfile = os.path.join(data, "tesserad.port")
    with open(log_path, "w") as log:
        daemon = subprocess.Popen(list(wrap) + [tesserad, "--config", conf],
                                  env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while not os.path.exists(portfile):
        if daemon.poll() is not None:
            raise Broke("tesserad exited %d; log in %s" %
                        (daemon.returncode, log_path))
        if time.monotonic() > deadline:
            stop_daemon(daemon)
            raise Broke("tesserad wrote no port file in time; log in %s"
                        % log_path)
        time.sleep(0.05)
    with open(portfile) as f:
        return daemon, int(f.read().strip())


def stop_daemon(daemon):
    """SIGTERM, then SIGKILL after 30 s: the exit status of the first, or
    None (not running, or killed)."""
    if daemon is None or daemon.poll() is not None:
        return None
    daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        return None


def bench_user(api, admin_enroll):
    """The admin enrolled, target bench/api, role bench-app (login app on
    it), user bench bound to it and enrolled: bench's session token."""
    admin_secret = enroll(api, admin_enroll)
    admin = login(api, "admin", admin_secret)
    api.call("PUT", "/v1/targets/bench/api", {"labels": {"env": "bench"}},
             token=admin)
    api.call("PUT", "/v1/roles/bench-app",
             {"rules": [{"targets": ["bench/api"], "logins": ["app"]}],
              "max_ttl": 3600}, token=admin)
    u = api.call("POST", "/v1/users", {"username": "bench", "groups": []},
                 token=admin)
    api.call("POST", "/v1/bindings",
             {"role": "bench-app", "subject": "user:bench",
              "expires_at": None}, token=admin)
    bench_secret = enroll(api, u["enroll_token"])
    return login(api, "bench", bench_secret)


def main():
    build = os.environ.get("TESSERA_BUILD_DIR")
    if not build:
        build = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             "..", "..", "build")
    tessera = find_exe(build, "tessera", "cli/tessera")
    tesserad = os.environ.get("HTTPBENCH_TESSERAD") or \
        find_exe(build, "tesserad")
    gen = find_exe(build, "bench/http/loadgen")
    probe_exe = find_exe(build, "bench/http/hostprobe")
    ncpu = os.cpu_count() or 1

    tmp = tempfile.mkdtemp(prefix="httpbench.")
    data = os.path.join(tmp, "data")
    daemon = None
    try:
        # ---- instance ----
        admin_enroll = init_data(tessera, data)
        conf = os.path.join(data, "tesserad.conf")
        cafile = os.path.join(data, "tls.crt")
        env = daemon_env(os.path.join(tmp, "audit.jsonl"))
        a2_mem_kib = int(config_value(conf, env, "argon2_memory_kib",
                                      "65536"))
        a2_conc = int(config_value(conf, env, "argon2_max_concurrent",
                                   "0")) or ncpu
        grind = os.environ.get("HTTPBENCH_CALLGRIND")
        wrap = []
        if grind:
            wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    "--callgrind-out-file=" + grind]
        daemon, port = start_daemon(tesserad, conf, env, data,
                                    os.path.join(tmp, "tesserad.log"), wrap,
                                    600 if grind else 60)
        base = "https://127.0.0.1:%d" % port
        sampler = RssSampler(daemon.pid)
        sampler.start()
        api = Api(base, cafile)

        t_setup = time.monotonic()
        token = bench_user(api, admin_enroll)
        setup_s = time.monotonic() - t_setup

        # ---- 0. the host, then 1. raw signatures ----
        probe = loadgen(probe_exe, ["--duration", "4"], 60)
        raw = loadgen(gen, ["rawsign", "--duration", "3"], 60)

        # ---- 2. issuance ----
        common = ["--url", base, "--cacert", cafile]
        perf = None
        if os.environ.get("HTTPBENCH_PERF"):
            perf = subprocess.Popen(
                ["perf", "record", "--call-graph",
                 os.environ.get("HTTPBENCH_PERF_CALLGRAPH", "fp"), "-q", "-o",
                 os.environ["HTTPBENCH_PERF"], "-p", str(daemon.pid), "--",
                 "sleep", str(min(ISSUE_SECONDS, 4))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if grind:
            subprocess.run(["callgrind_control", "-i", "on",
                            str(daemon.pid)], stdout=subprocess.DEVNULL,
                           check=True)
        d0, g0 = cpu_seconds(daemon.pid), children_cpu()
        s0, t0 = switches(daemon.pid), thread_cpu(daemon.pid)
        prefix = os.environ.get("HTTPBENCH_LOADGEN_PREFIX", "").split()
        issue = loadgen(prefix + [gen], ["issue"] + common + [
            "--threads", str(ISSUE_CLIENTS), "--duration", str(ISSUE_SECONDS),
            "--token", token, "--target", "bench/api", "--login", "app"] +
            (["--requests", os.environ["HTTPBENCH_ISSUE_REQUESTS"]]
             if os.environ.get("HTTPBENCH_ISSUE_REQUESTS") else []),
            ISSUE_SECONDS + 120)
        issue_cpu_d = cpu_seconds(daemon.pid) - d0
        issue_sw = switches(daemon.pid) - s0
        t1 = thread_cpu(daemon.pid)
        by_thread = {k: t1[k] - t0.get(k, 0.0) for k in t1}
        if grind:
            subprocess.run(["callgrind_control", "-d", str(daemon.pid)],
                           stdout=subprocess.DEVNULL, check=True)
            subprocess.run(["callgrind_control", "-i", "off",
                            str(daemon.pid)], stdout=subprocess.DEVNULL,
                           check=True)
        if perf is not None:
            perf.wait(timeout=60)
        issue_cpu_g = children_cpu() - g0
        after_issue = proc_status(daemon.pid)
        # The reference again, right after: a virtual machine's speed
        # drifts by tens of percent within a minute.
        raw_after = loadgen(gen, ["rawsign", "--duration", "3"], 60)

        # ---- 3. /healthz idle, then during a login flood ----
        idle = loadgen(gen, ["get"] + common + [
            "--threads", str(HEALTH_CLIENTS), "--duration", "3"], 60)
        # The HTTP stack alone at issuance's concurrency: how long a tail
        # a trivial request has when 64 clients keep both cores busy.
        busy = loadgen(gen, ["get"] + common + [
            "--threads", str(ISSUE_CLIENTS), "--duration", "3"], 60)
        flood_p = subprocess.Popen(
            [gen, "login"] + common + [
                "--threads", str(FLOOD_CLIENTS), "--duration",
                str(FLOOD_SECONDS), "--sources", "127.0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Let the flood fill every hashing slot and the queue first.
        time.sleep(1.5)
        during = loadgen(gen, ["get"] + common + [
            "--threads", str(HEALTH_CLIENTS), "--duration",
            str(max(FLOOD_SECONDS - 3, 2))], FLOOD_SECONDS + 60)
        fout, ferr = flood_p.communicate(timeout=FLOOD_SECONDS + 120)
        if flood_p.returncode != 0:
            raise Broke("loadgen login: exit %d: %s" % (flood_p.returncode,
                                                        ferr.strip()))
        flood = json.loads(fout)
        # ---- 5. issuance again, paced below the closed loop's rate ----
        idle_wait = wait_idle(daemon.pid)
        paced_rate = int(issue["ok_rate"] * PACED_SHARE)
        paced = loadgen(gen, ["issue"] + common + [
            "--threads", str(ISSUE_CLIENTS), "--duration", str(PACED_SECONDS),
            "--rate", str(max(paced_rate, 1)), "--token", token,
            "--target", "bench/api", "--login", "app"], PACED_SECONDS + 120)
        status = proc_status(daemon.pid)
        sampler.stop.set()
        sampler.join()
        alive = daemon.poll() is None
        db_bytes = os.path.getsize(os.path.join(data, "data.mdb")) \
            if os.path.exists(os.path.join(data, "data.mdb")) else 0
    finally:
        stop_status = stop_daemon(daemon)
        if os.environ.get("HTTPBENCH_KEEP") == "1":
            print("data kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- report ----
    rss_bound = 64 * MIB + a2_conc * a2_mem_kib * 1024
    peak = status["VmHWM"] * 1024
    raw_rate = (raw["rate_cpu"] + raw_after["rate_cpu"]) / 2
    ratio = issue["ok_rate"] / raw_rate if raw_rate else 0.0
    raw_best = max(raw["rate_cpu"], raw_after["rate_cpu"])
    ratio_best = issue["ok_rate"] / raw_best if raw_best else 0.0
    load = os.getloadavg()

    print("== tesserad HTTPS benchmark ==")
    print("machine: %d cores, load average %.2f %.2f %.2f; "
          "Argon2 m=%d KiB, at most %d at once; set-up %.1f s"
          % (ncpu, load[0], load[1], load[2], a2_mem_kib, a2_conc, setup_s))
    if os.environ.get("HTTPBENCH_TESSERAD_ENV"):
        print("tesserad environment:", os.environ["HTTPBENCH_TESSERAD_ENV"])
    print("host steadiness (hostprobe, %.0f s, no server work): %d of %d "
          "windows of 50 ms ran >= 2x slower (%.1f%% of the time), worst "
          "%.1fx" % (probe["seconds"], probe["slow"], probe["windows"],
                     100 * probe["slow_share"], probe["worst"]))
    print("raw Ed25519 signatures/s, one core (300-byte message): %.0f "
          "before issuance, %.0f after, mean %.0f"
          % (raw["rate_cpu"], raw_after["rate_cpu"], raw_rate))
    print("issuance, %d clients, %.1f s: %d requests, %.0f certificates/s, "
          "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms, non-2xx %d, "
          "transport errors %d, statuses %s"
          % (issue["threads"], issue["elapsed_s"], issue["requests"],
             issue["ok_rate"], issue["p50_ms"], issue["p90_ms"],
             issue["p99_ms"], issue["max_ms"], issue["non2xx"],
             issue["transport_errors"], json.dumps(issue["status"])))
    print("  stalls: %d of %d windows of 50 ms completed under half the "
          "median window; %.1f%% of requests were in flight in one; p99 of "
          "the others %.2f ms (diagnostic, not the target)"
          % (issue["stall_windows"], issue["windows"],
             100 * issue["stall_overlap_share"],
             issue["p99_outside_stalls_ms"]))
    print("issuance / raw one-core signatures: %.3f (against the faster "
          "of the two: %.3f)" % (ratio, ratio_best))
    cpu_cert = 1e6 * issue_cpu_d / max(issue["ok"], 1)
    sig_us = 1e6 / raw_rate if raw_rate else 0.0
    print("CPU during issuance: tesserad %.1f s (%.0f us per certificate, "
          "%.2f x a raw signature's %.1f us; %.2f context switches per "
          "certificate), load generator %.1f s, of %.1f s x %d cores"
          % (issue_cpu_d, cpu_cert, cpu_cert / sig_us if sig_us else 0.0,
             sig_us, issue_sw / max(issue["ok"], 1), issue_cpu_g,
             issue["elapsed_s"], ncpu))
    print("  by thread, us per certificate: " + ", ".join(
        "%s %.0f" % (k, 1e6 * v / max(issue["ok"], 1)) for k, v in
        sorted(by_thread.items(), key=lambda kv: -kv[1]) if v > 0))
    print("tesserad after issuance: VmRSS %.1f MiB (anonymous %.1f, file "
          "%.1f), VmHWM %.1f MiB, %d threads"
          % (after_issue["VmRSS"] / 1024.0, after_issue["RssAnon"] / 1024.0,
             after_issue["RssFile"] / 1024.0, after_issue["VmHWM"] / 1024.0,
             after_issue["Threads"]))
    print("/healthz idle, %d clients: %.0f/s, p50 %.2f ms, p99 %.2f ms, "
          "non-2xx %d" % (idle["threads"], idle["rate"], idle["p50_ms"],
                          idle["p99_ms"], idle["non2xx"]))
    print("/healthz, %d clients: %.0f/s, p50 %.2f ms, p99 %.2f ms, "
          "non-2xx %d" % (busy["threads"], busy["rate"], busy["p50_ms"],
                          busy["p99_ms"], busy["non2xx"]))
    print("p99 over mean latency (clients / rate), the tail a saturated "
          "closed loop adds: issuance %.2f, /healthz with %d clients %.2f"
          % (tail_factor(issue), busy["threads"], tail_factor(busy)))
    print("login flood, %d clients from %d addresses, %.1f s: %d attempts, "
          "p50 %.1f ms, p99 %.1f ms, statuses %s"
          % (flood["threads"], min(flood["threads"], 250), flood["elapsed_s"],
             flood["requests"], flood["p50_ms"], flood["p99_ms"],
             json.dumps(flood["status"])))
    print("/healthz during the flood, %d clients: %d requests, p50 %.2f ms, "
          "p99 %.2f ms, max %.2f ms, non-2xx %d, transport errors %d"
          % (during["threads"], during["requests"], during["p50_ms"],
             during["p99_ms"], during["max_ms"], during["non2xx"],
             during["transport_errors"]))
    print("issuance paced at %d/s (%.0f%% of the closed loop's rate), %d "
          "clients, %.1f s: %.0f certificates/s, p50 %.2f ms, p90 %.2f ms, "
          "p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, non-2xx %d, transport "
          "errors %d (latency from when each request was due; started "
          "after %.1f s for tesserad to go idle)"
          % (paced["rate_offered"], 100 * PACED_SHARE, paced["threads"],
             paced["elapsed_s"], paced["ok_rate"], paced["p50_ms"],
             paced["p90_ms"], paced["p99_ms"], paced["p999_ms"],
             paced["max_ms"], paced["non2xx"], paced["transport_errors"],
             idle_wait))
    print("tesserad peak RSS (VmHWM): %.1f MiB; bound 64 MiB + %d x %d KiB "
          "= %.0f MiB" % (peak / MIB, a2_conc, a2_mem_kib, rss_bound / MIB))
    print("  sampled peaks (20 ms): anonymous %.1f MiB, file-backed %.1f MiB "
          "(LMDB map of a %.1f MiB data file)"
          % (sampler.peak["RssAnon"] / 1024.0, sampler.peak["RssFile"] / 1024.0,
             db_bytes / MIB))

    targets = [
        ("issuance >= 0.5 x raw one-core Ed25519", ratio >= 0.5,
         "%.3f" % ratio),
        ("tesserad CPU per certificate <= 3 x raw signature",
         sig_us > 0 and cpu_cert <= 3 * sig_us,
         "%.0f us vs 3 x %.1f us" % (cpu_cert, sig_us)),
        ("issuance p99 < 20 ms", issue["p99_ms"] < 20.0,
         "%.2f ms" % issue["p99_ms"]),
        ("issuance zero non-2xx",
         issue["non2xx"] == 0 and issue["transport_errors"] == 0,
         "%d non-2xx, %d transport errors" % (issue["non2xx"],
                                              issue["transport_errors"])),
        ("/healthz p99 < 50 ms during login flood",
         during["p99_ms"] < 50.0 and during["non2xx"] == 0 and
         during["transport_errors"] == 0, "%.2f ms" % during["p99_ms"]),
        ("peak RSS (VmHWM) < 64 MiB + Argon2 bound", peak < rss_bound,
         "%.1f MiB vs %.0f MiB" % (peak / MIB, rss_bound / MIB)),
        ("peak anonymous RSS < 64 MiB + Argon2 bound",
         sampler.peak["RssAnon"] * 1024 < rss_bound,
         "%.1f MiB vs %.0f MiB" % (sampler.peak["RssAnon"] / 1024.0,
                                   rss_bound / MIB)),
        ("tesserad alive, then exit 0 on SIGTERM",
         alive and stop_status == 0,
         "alive %s, exit %s" % (alive, stop_status)),
    ]
    print("targets:")
    for name, ok, what in targets:
        print("  %-46s %s  (%s)" % (name, "PASS" if ok else "FAIL", what))
    issue["cpu_us_per_cert"] = cpu_cert
    issue["switches_per_cert"] = issue_sw / max(issue["ok"], 1)
    print("json:", json.dumps({"host": probe, "raw": raw,
                               "raw_after": raw_after,
                               "issue": issue, "healthz_idle": idle,
                               "healthz_busy": busy, "paced": paced,
                               "flood": flood, "healthz_flood": during,
                               "peak_rss_kib": status["VmHWM"],
                               "peak_anon_kib": sampler.peak["RssAnon"],
                               "peak_file_kib": sampler.peak["RssFile"]}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Broke as e:
        print("httpbench: %s" % e, file=sys.stderr)
        sys.exit(1)
