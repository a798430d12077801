"""What the tests in tests/docker share: the docker CLI with a bound on
every call, a dockerd started when none runs (and stopped by whoever
started it), and the images built from this tree."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

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


def base_image():
    """debian:12-slim, made locally when it cannot be pulled."""
    subprocess.run([os.path.join(SRC, "scripts", "debian-base-image.sh")],
                   check=True, capture_output=True, timeout=900)


def remove_containers(prefix):
    """docker rm -f every container whose name holds prefix."""
    ids = docker("ps", "-aq", "--filter", "name=" + prefix,
                 check=False).stdout.split()
    if ids:
        docker(*(["rm", "-f"] + ids), check=False)


def build_image():
    """base_image(), then the image of deploy/Dockerfile as IMAGE;
    Docker's cache makes a second call cheap."""
    base_image()
    docker("build", "-q", "-f", os.path.join(SRC, "deploy", "Dockerfile"),
           "-t", IMAGE, SRC, timeout=1200)


class SwarmCase(unittest.TestCase):
    """A test class on a single-node Swarm: dockerd and a Swarm when none
    runs, the data label on the node, the image built; subclasses set
    STACK and write up() and down(); at the end only a Swarm this class
    made is left (the label goes either way), and dockerd stops if this
    class started it."""

    STACK = None

    @classmethod
    def setUpClass(cls):
        cls.dockerd = None
        cls.made_swarm = False
        cls.node_id = None
        cls.dir = tempfile.mkdtemp(prefix="tessera-%s." % cls.STACK)
        try:
            cls.dockerd = start_dockerd(cls.dir)
            if docker("info", "--format", "{{.Swarm.LocalNodeState}}"
                      ).stdout.strip() != "active":
                docker("swarm", "init", "--advertise-addr", "127.0.0.1")
                cls.made_swarm = True
            cls.node_id = docker("info", "--format",
                                 "{{.Swarm.NodeID}}").stdout.strip()
            docker("node", "update", "--label-add", "tessera.data=true",
                   cls.node_id)
            build_image()
            cls.up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.down()
        if cls.made_swarm:
            docker("swarm", "leave", "--force", check=False)
        elif cls.node_id:
            docker("node", "update", "--label-rm", "tessera.data",
                   cls.node_id, check=False)
        stop_dockerd(cls.dockerd)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def remove_stack(cls, secrets, volumes, extra=()):
        """docker stack rm and, once its containers (and those named in
        extra) are gone, its secrets, tls_crt config and volumes, each
        named STACK_<name>; bounded, never raising."""
        s = cls.STACK
        docker("stack", "rm", s, check=False)

        def gone():
            return all(docker("ps", "-aq", "--filter", f, check=False)
                       .stdout.strip() == "" for f in
                       ["label=com.docker.stack.namespace=" + s] +
                       ["name=" + x for x in extra])

        def rm_volume(v):
            p = docker("volume", "rm", v, check=False)
            return p.returncode == 0 or "no such volume" in p.stderr.lower()
        quietly(wait, gone, "the stack's containers to go", 120)
        for name in secrets:
            docker("secret", "rm", "%s_%s" % (s, name), check=False)
        docker("config", "rm", s + "_tls_crt", check=False)
        for v in volumes:
            v = "%s_%s" % (s, v)
            quietly(wait, lambda: rm_volume(v), "volume " + v, 60)


def quietly(wait_fn, *args):
    """A bounded wait in a clean-up: a time-out is not an error there."""
    try:
        wait_fn(*args)
    except AssertionError:
        pass
