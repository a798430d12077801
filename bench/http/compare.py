#!/usr/bin/env python3
"""Issuance, old binary against new, in one run (make bench-compare).

Runs bench/http/run.py alternately against a baseline build (its own
tessera, tesserad and load generator: HTTPBENCH_BASELINE_BUILD) and this
build (TESSERA_BUILD_DIR), ROUNDS times each, old first, so both see the
same host in the same minutes.  Reports per round and as medians: the
closed-loop issuance rate, its p99, the paced (open-loop) p99, and each
rate over the raw Ed25519 signature rate measured in the same round;
then new/old ratios.  Exits 0 whatever the figures (benchmarks report),
non-zero only when a run broke.  Without HTTPBENCH_BASELINE_BUILD it says
how to get one and exits 0.

Environment: HTTPBENCH_BASELINE_BUILD, HTTPBENCH_ROUNDS (default 2), and
run.py's own (HTTPBENCH_ISSUE_SECONDS, HTTPBENCH_PACED_SECONDS, ...).
"""

import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def one(build):
    env = dict(os.environ, TESSERA_BUILD_DIR=build)
    env.pop("HTTPBENCH_TESSERAD", None)
    p = subprocess.run([sys.executable, os.path.join(HERE, "run.py")],
                       env=env, stdout=subprocess.PIPE, text=True,
                       timeout=900)
    if p.returncode != 0:
        raise SystemExit("run.py against %s exited %d" % (build,
                                                          p.returncode))
    for line in p.stdout.splitlines():
        if line.startswith("json: "):
            j = json.loads(line[6:])
            raw = (j["raw"]["rate_cpu"] + j["raw_after"]["rate_cpu"]) / 2
            return {"rate": j["issue"]["ok_rate"],
                    "cpu_us": j["issue"]["cpu_us_per_cert"],
                    "p99": j["issue"]["p99_ms"],
                    "paced_p99": j["paced"]["p99_ms"],
                    "per_raw": j["issue"]["ok_rate"] / raw if raw else 0.0,
                    "cpu_per_sig": j["issue"]["cpu_us_per_cert"] * raw / 1e6,
                    "switches": j["issue"]["switches_per_cert"]}
    raise SystemExit("run.py printed no json line")


def main():
    base = os.environ.get("HTTPBENCH_BASELINE_BUILD")
    new = os.environ.get("TESSERA_BUILD_DIR", "build")
    if not base:
        print("bench-compare: set HTTPBENCH_BASELINE_BUILD to the build "
              "directory of the baseline (make bench-compare BASE=<rev> "
              "builds one)")
        return 0
    rounds = int(os.environ.get("HTTPBENCH_ROUNDS", "2"))
    res = {"old": [], "new": []}
    for n in range(rounds):
        for name, build in (("old", base), ("new", new)):
            r = one(build)
            res[name].append(r)
            print("round %d %s: %.0f certificates/s (%.3f of raw "
                  "signatures), %.0f us CPU per certificate (%.2f raw "
                  "signatures, %.2f context switches), p99 %.2f ms, "
                  "paced p99 %.2f ms"
                  % (n + 1, name, r["rate"], r["per_raw"], r["cpu_us"],
                     r["cpu_per_sig"], r["switches"], r["p99"],
                     r["paced_p99"]), flush=True)
    med = {k: {f: statistics.median(x[f] for x in v) for f in v[0]}
           for k, v in res.items()}
    for k in ("old", "new"):
        m = med[k]
        print("median %s: %.0f certificates/s (%.3f of raw), %.0f us CPU "
              "per certificate (%.2f raw signatures, %.2f context "
              "switches), p99 %.2f ms, paced p99 %.2f ms"
              % (k, m["rate"], m["per_raw"], m["cpu_us"], m["cpu_per_sig"],
                 m["switches"], m["p99"], m["paced_p99"]))
    o, w = med["old"], med["new"]
    print("new/old: rate %.3f, rate per raw signature %.3f, CPU per "
          "certificate %.3f (in raw signatures %.3f), context switches "
          "%.3f, p99 %.3f, paced p99 %.3f"
          % (w["rate"] / o["rate"], w["per_raw"] / o["per_raw"],
             w["cpu_us"] / o["cpu_us"], w["cpu_per_sig"] / o["cpu_per_sig"],
             w["switches"] / max(o["switches"], 1e-9), w["p99"] / o["p99"],
             w["paced_p99"] / o["paced_p99"]))
    print("json:", json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
