"""GET /metrics is not public on the API port (issue 16).  Real tesserad
processes: without metrics_listen or metrics_token_file the API port
answers /metrics 404 like any unknown path; with metrics_token_file only
the bearer token in that file gets the Prometheus text there; with
metrics_listen a second, plain-HTTP listener serves /metrics and /healthz
and the API port still answers 404.  A token file that is missing, empty,
not a token or readable by others stops the start with a message naming
it."""

import os
import re
import subprocess
import unittest

import harness as h

TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Metrics(unittest.TestCase):
    def setUp(self):
        self.inst = h.Instance()

    def tearDown(self):
        self.inst.close()

    def error(self, path, token=None):
        st, _, body = self.inst.call("GET", path, token=token)
        return st, body["error"]["code"]

    def test_not_served_without_either_key(self):
        self.inst.start()
        self.assertEqual(self.error("/metrics"), (404, "not_found"))
        self.assertEqual(self.error("/metrics", "anything"),
                         (404, "not_found"))
        # As an unknown path answers.
        self.assertEqual(self.error("/no-such-path"), (404, "not_found"))
        self.assertNotIn("metrics (plain HTTP)", self.inst.tail())

    def test_token_file_guards_the_api_port(self):
        token = self.inst.metrics_token()
        self.inst.start()
        self.assertEqual(self.error("/metrics"), (401, "unauthenticated"))
        self.assertEqual(self.error("/metrics", token + "x"),
                         (401, "unauthenticated"))
        self.assertEqual(self.error("/metrics", token[:-1]),
                         (401, "unauthenticated"))
        _, admin = self.inst.admin()
        self.assertEqual(self.error("/metrics", admin),
                         (401, "unauthenticated"))
        st, hdrs, body = self.inst.call("GET", "/metrics", token=token)
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], TEXT)
        self.assertIn(b'tessera_logins_total{outcome="ok"} 1', body)
        self.assertIn(b"# TYPE tessera_certificates_issued_total counter",
                      body)

    def test_listener_serves_metrics_and_api_port_does_not(self):
        self.inst.env["TESSERA_METRICS_LISTEN"] = "127.0.0.1:0"
        self.inst.start()
        port = self.inst.scrape_port()
        self.assertNotEqual(port, self.inst.port)
        st, hdrs, body = self.inst.scrape("/metrics", port)
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["content-type"], TEXT)
        self.assertIn(b"# TYPE tessera_store_bytes gauge", body)
        self.assertIn(b'tessera_store_bytes{kind="map"} ', body)
        st, _, body = self.inst.scrape("/healthz", port)
        self.assertEqual((st, body), (200, b'{"status":"ok"}'))
        st, _, _ = self.inst.scrape("/v1/ca", port)
        self.assertEqual(st, 404)
        st, hdrs, _ = self.inst.scrape("/metrics", port, method="POST")
        self.assertEqual((st, hdrs["allow"]), (405, "GET, HEAD"))
        # The API port keeps it private.
        self.assertEqual(self.error("/metrics"), (404, "not_found"))
        # The listener stops with the service.
        self.assertEqual(self.inst.stop(), 0)
        with self.assertRaises(OSError):
            self.inst.scrape("/healthz", port)

    def refused(self, want):
        p = subprocess.run([h.TESSERAD, "--config",
                            os.path.join(self.inst.data, "tesserad.conf")],
                           env=self.inst.env, capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertRegex(p.stderr, "metrics_token_file =? ?" + re.escape(
            self.inst.env["TESSERA_METRICS_TOKEN_FILE"]))
        self.assertIn(want, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.inst.data,
                                                     "tesserad.port")))

    def test_bad_token_file_refuses_to_start(self):
        path = os.path.join(self.inst.dir, "metrics.token")
        self.inst.env["TESSERA_METRICS_TOKEN_FILE"] = path
        self.refused("No such file")
        self.inst.metrics_token("")
        self.refused("empty")
        self.inst.metrics_token("two words")
        self.refused("not a token")
        self.inst.metrics_token()
        os.chmod(path, 0o644)
        self.refused("give the secret mode: 0400")


if __name__ == "__main__":
    unittest.main(verbosity=2)
