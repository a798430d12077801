"""The HTTP edge against a real tesserad over real TLS on 127.0.0.1 (issue
14, section 4): request head and body deadlines, per-network connection
limits, ambiguous framing (Content-Length with Transfer-Encoding, unknown
codings), too many query arguments, a 413 the client can read, admin
DELETEs answering 204, and JSON numbers out of range.  Each test is named
after its finding.

Two instances: EDGE with short deadlines (header 1 s, body 2 s) and a long
idle timeout (20 s), so a trickling client is cut by the deadline and not
by inactivity; LIMITS with small connection limits and long timeouts, so
connections held open stay open unless a limit refuses them.  Several
"addresses" and "networks" are loopback source addresses (all of
127.0.0.0/8 is loopback on Linux).  Waits are bounded polls; the only
timing assumption is that a 1 s deadline fires well inside a 10 s window.
"""

import http.client
import json
import os
import select
import socket
import ssl
import subprocess
import time
import unittest

import harness

IDLE = 20           # connection_timeout of EDGE: never reached by a test
TRICKLE_FOR = 10.0  # how long a trickling client keeps going at most
ANSWER_BOUND = 5.0  # an answer "at once" comes well within this


def edge_instance():
    inst = harness.Instance()
    inst.env.update(TESSERA_CONNECTION_TIMEOUT="%ds" % IDLE,
                    TESSERA_HEADER_TIMEOUT="1s",
                    TESSERA_BODY_TIMEOUT="2s")
    inst.start()
    return inst


def tls_connect(inst, source="127.0.0.1", timeout=ANSWER_BOUND):
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=timeout,
                                 source_address=(source, 0))
    return inst.ctx.wrap_socket(s, server_hostname="127.0.0.1")


def read_until_close(s, bound):
    """Everything the server sends until it closes, within bound seconds:
    (bytes, closed).  closed is False when the bound passed first."""
    out = b""
    deadline = time.monotonic() + bound
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out, False
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return out, False
        except (ssl.SSLError, OSError):
            return out, True
        if not b:
            return out, True
        out += b


def parse(resp):
    """(status, headers dict, JSON body or None) of one raw response."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    j = None
    if hdrs.get("content-type", "").startswith("application/json"):
        n = int(hdrs.get("content-length", len(body)))
        j = json.loads(body[:n])
    return status, hdrs, j


def trickle_until_closed(s, first, lines, step=0.25):
    """Send first, then one of lines every step seconds, until the server
    closes the connection or TRICKLE_FOR passes.  Seconds until closed, or
    None when it stayed open."""
    t0 = time.monotonic()
    s.sendall(first)
    i = 0
    while time.monotonic() - t0 < TRICKLE_FOR:
        r, _, _ = select.select([s], [], [], step)
        if r:
            try:
                if not s.recv(4096):
                    return time.monotonic() - t0
            except (ssl.SSLError, OSError):
                return time.monotonic() - t0
            continue
        try:
            s.sendall(lines[i % len(lines)])
        except (ssl.SSLError, OSError):
            return time.monotonic() - t0
        i += 1
    return None


class Edge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.i = edge_instance()
        acct = cls.i.enroll(cls.i.admin_token, "admin",
                            "correct horse battery")
        cls.login = cls.i.ok("POST", "/v1/login", {
            "username": "admin", "password": acct.password,
            "code": acct.next_code()})
        cls.tok = cls.login["token"]

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def assert_served(self):
        self.assertEqual(self.i.call("GET", "/healthz")[0], 200)

    def raw_answer(self, data):
        s = tls_connect(self.i)
        try:
            s.sendall(data)
            out, closed = read_until_close(s, ANSWER_BOUND)
        finally:
            s.close()
        self.assertTrue(out, "no answer within %.0f s" % ANSWER_BOUND)
        return parse(out) + (closed,)

    # -- deadlines --

    def test_head_trickled_one_line_at_a_time_closed_at_header_deadline(self):
        s = tls_connect(self.i, timeout=TRICKLE_FOR + 5)
        try:
            took = trickle_until_closed(
                s, b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
                [b"X-A: 1\r\n", b"X-B: 2\r\n"])
        finally:
            s.close()
        self.assertIsNotNone(took, "a head trickled for %.0f s (one line "
                             "every 0.25 s) was never closed" % TRICKLE_FOR)
        self.assert_served()

    def test_body_trickled_closed_at_body_deadline(self):
        s = tls_connect(self.i, timeout=TRICKLE_FOR + 5)
        try:
            took = trickle_until_closed(
                s, b"POST /v1/login HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: 4000\r\n\r\n", [b" "])
        finally:
            s.close()
        self.assertIsNotNone(took, "a body trickled for %.0f s was never "
                             "closed" % TRICKLE_FOR)
        self.assert_served()

    def test_keepalive_next_head_trickled_closed_at_header_deadline(self):
        s = tls_connect(self.i, timeout=TRICKLE_FOR + 5)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while b"\r\n\r\n" not in first or not first.endswith(b"}"):
                b = s.recv(4096)
                self.assertTrue(b, "closed before the first answer")
                first += b
            self.assertEqual(parse(first)[0], 200)
            took = trickle_until_closed(
                s, b"GET /healthz HTTP/1.1\r\n", [b"X-A: 1\r\n"])
        finally:
            s.close()
        self.assertIsNotNone(took, "a kept-alive connection trickling its "
                             "next head was never closed")

    # -- framing --

    def test_content_length_with_transfer_encoding_refused_and_closed(self):
        body = b'{"username":"nobody","password":"x","code":"1"}'
        req = (b"POST /v1/login HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\n"
               b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), len(body), body))
        st, hdrs, j, closed = self.raw_answer(req)
        self.assertEqual(st, 400, j)
        self.assertEqual(j["error"]["code"], "bad_request")
        self.assertIn("Transfer-Encoding", j["error"]["message"])
        self.assertEqual(hdrs.get("connection"), "close")
        self.assertTrue(closed, "connection kept open after the 400")
        self.assert_served()

    def test_unknown_transfer_encoding_answered_501_at_once(self):
        for te in (b"gzip", b"gzip, chunked", b"identity"):
            req = (b"POST /v1/login HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/json\r\n"
                   b"Transfer-Encoding: " + te + b"\r\n\r\n{}")
            st, hdrs, j, closed = self.raw_answer(req)
            self.assertEqual(st, 501, te)
            self.assertEqual(j["error"]["code"], "not_implemented")
            self.assertIn("Transfer-Encoding", j["error"]["message"])
            self.assertTrue(closed, te)
        self.assert_served()

    def test_too_many_query_arguments_answered_at_once(self):
        for n in (300, 1000, 17):
            q = "&".join("a%d=1" % k for k in range(n))
            st, hdrs, j, closed = self.raw_answer(
                ("GET /v1/audit?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q)
                .encode())
            self.assertEqual(st, 400, n)
            self.assertEqual(j["error"]["code"], "bad_request")
            self.assertIn("query arguments", j["error"]["message"])
            self.assertTrue(closed, n)
        # Sixteen are allowed: the answer is the route's (401 here).
        q = "&".join("a%d=1" % k for k in range(16))
        st, _, j, _ = self.raw_answer(
            ("GET /v1/audit?%s HTTP/1.1\r\nHost: x\r\nConnection: close"
             "\r\n\r\n" % q).encode())
        self.assertEqual(st, 401, j)
        self.assert_served()

    def test_body_over_64k_413_read_by_client_not_reset(self):
        """curl (the client tessera uses) uploading 4 MiB: it must read
        the 413, not fail with "connection reset"/"broken pipe"."""
        path = os.path.join(self.i.dir, "big.json")
        with open(path, "wb") as f:
            f.write(b"{" + b" " * (4 * 1024 * 1024) + b"}")
        for attempt in range(3):
            p = subprocess.run(
                ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
                 "--max-time", "30",
                 "--cacert", os.path.join(self.i.data, "tls.crt"),
                 "-H", "Content-Type: application/json", "-H", "Expect:",
                 "--data-binary", "@" + path,
                 "https://127.0.0.1:%d/v1/login" % self.i.port],
                capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, "attempt %d: %s" % (
                attempt, p.stderr.strip()))
            body, _, code = p.stdout.rpartition("\n")
            self.assertEqual(code, "413", p.stdout)
            self.assertEqual(json.loads(body)["error"]["code"],
                             "payload_too_large")
        self.assert_served()

    # -- API --

    def test_json_integer_beyond_64_bits_says_out_of_range(self):
        for raw in (b'{"ttl": 123456789012345678901234567890}',
                    b'{"public_key": "x", "ttl": 18446744073709551616}',
                    b'{"ttl": -99999999999999999999}',
                    b'{"role": "r", "subject": "user:x", '
                    b'"expires_at": 1e999}'):
            st, _, j = self.i.call("POST", "/v1/certs", raw=raw,
                                   token=self.tok,
                                   headers={"Content-Type":
                                            "application/json"})
            self.assertEqual(st, 400, raw)
            self.assertEqual(j["error"]["code"], "bad_request", j)
            self.assertIn("out of range", j["error"]["message"])

    def test_admin_delete_answers_204_and_tessera_unbind_exits_0(self):
        tok, r = self.tok, self.login
        ok = self.i.ok
        ok("PUT", "/v1/targets/edge/a", {"labels": {}}, token=tok)
        ok("PUT", "/v1/roles/edge", {"rules": [{"targets": ["edge/*"],
                                                "logins": ["app"]}]},
           token=tok)
        ok("POST", "/v1/users", {"username": "gone", "groups": []},
           token=tok, want=201)
        b1 = ok("POST", "/v1/bindings", {"role": "edge",
                                         "subject": "user:gone"},
                token=tok, want=201)["id"]
        b2 = ok("POST", "/v1/bindings", {"role": "edge",
                                         "subject": "group:edge"},
                token=tok, want=201)["id"]

        def delete(path):
            st, _, body = self.i.call("DELETE", path, token=tok)
            self.assertEqual(st, 204, "%s: %r" % (path, body))
            st, _, _ = self.i.call("DELETE", path, token=tok)
            self.assertEqual(st, 404, path + " deleted twice")

        delete("/v1/bindings/%s" % b1)
        delete("/v1/users/gone")

        # `tessera unbind` through the CLI, on a saved session.
        p = subprocess.run(
            [harness.TESSERA, "--ca-file",
             os.path.join(self.i.data, "tls.crt"), "unbind", str(b2)],
            capture_output=True, text=True, env=self.i.cli_env(r))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ids = [b["id"] for b in
               ok("GET", "/v1/bindings", token=tok)["bindings"]]
        self.assertNotIn(b2, ids)

        # With no binding left, the role; with no role, the target.
        delete("/v1/roles/edge")
        delete("/v1/targets/edge/a")


class Limits(unittest.TestCase):
    """Per-network limits: ATTACKERS addresses of one /24 each open
    PER_IP idle connections, more than the server's slots; a client from
    another network is still served."""
    MAX, PER_IP, PER_NET, ATTACKERS = 48, 4, 8, 17

    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        cls.i.env.update(TESSERA_MAX_CONNECTIONS=str(cls.MAX),
                         TESSERA_PER_IP_CONNECTIONS=str(cls.PER_IP),
                         TESSERA_PER_NETWORK_CONNECTIONS=str(cls.PER_NET),
                         TESSERA_CONNECTION_TIMEOUT="60s",
                         TESSERA_HEADER_TIMEOUT="60s")
        cls.i.start()

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def test_many_addresses_of_one_network_cannot_fill_the_slots(self):
        socks = []
        try:
            for a in range(1, self.ATTACKERS + 1):
                for _ in range(self.PER_IP):
                    s = socket.create_connection(
                        ("127.0.0.1", self.i.port), timeout=5,
                        source_address=("127.0.9.%d" % a, 0))
                    socks.append(s)
            # The refused ones are closed at once; poll with a bound.
            want = len(socks) - self.PER_NET
            closed = set()
            deadline = time.monotonic() + 10
            while len(closed) < want and time.monotonic() < deadline:
                open_ = [s for s in socks if s not in closed]
                r, _, _ = select.select(open_, [], [], 0.2)
                for s in r:
                    try:
                        if not s.recv(1):
                            closed.add(s)
                    except OSError:
                        closed.add(s)
            self.assertEqual(len(closed), want,
                             "%d of %d attacker connections refused" % (
                                 len(closed), len(socks)))
            # While they hold what they got, others are served.
            for src in ("127.0.0.1", "127.0.10.1"):
                c = http.client.HTTPSConnection(
                    "127.0.0.1", self.i.port, context=self.i.ctx,
                    timeout=10, source_address=(src, 0))
                st, _, _ = self.i.call("GET", "/healthz", conn=c)
                c.close()
                self.assertEqual(st, 200, src)
        finally:
            for s in socks:
                s.close()
        # The network's count drops with the closes: served again.
        def served():
            c = http.client.HTTPSConnection(
                "127.0.0.1", self.i.port, context=self.i.ctx, timeout=10,
                source_address=("127.0.9.1", 0))
            try:
                return self.i.call("GET", "/healthz", conn=c)[0] == 200
            except OSError:
                return False
            finally:
                c.close()
        harness.wait_for(served, "127.0.9.1 served again", timeout=10)


if __name__ == "__main__":
    unittest.main()
