"""What the tests in tests/docker share: the docker CLI with a bound on
every call, a dockerd started when none runs (and stopped by whoever
started it), and the images built from this tree."""

import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import harness  # noqa: E402

IMAGE = "tessera:test"


def docker(*args, check=True, timeout=300):
    p = subprocess.run(["docker"] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args),
                                                p.stderr.strip()))
    return p


def wait(pred, what, timeout):
    return harness.wait_for(pred, what, timeout=timeout, step=0.5)


def start_dockerd(logdir):
    """A dockerd for the test: None when one already answers, else the
    process this call started (stop it with stop_dockerd)."""
    if docker("info", check=False, timeout=60).returncode == 0:
        return None
    log = open(os.path.join(logdir, "dockerd.log"), "wb")
    d = subprocess.Popen(["dockerd"], stdout=log, stderr=log,
                         start_new_session=True)
    wait(lambda: docker("info", check=False, timeout=30).returncode == 0,
         "dockerd", 60)
    return d


def stop_dockerd(d):
    if d is not None:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)


def build_image():
    """debian:12-slim (made locally when it cannot be pulled), then the
    image of deploy/Dockerfile as IMAGE; Docker's cache makes a second
    call cheap."""
    subprocess.run([os.path.join(SRC, "scripts", "debian-base-image.sh")],
                   check=True, capture_output=True, timeout=900)
    docker("build", "-q", "-f", os.path.join(SRC, "deploy", "Dockerfile"),
           "-t", IMAGE, SRC, timeout=1200)
