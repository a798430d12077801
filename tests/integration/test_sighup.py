"""SIGHUP and TLS file changes on a real tesserad (CONTRACT §2: tls_cert and
tls_key are reloaded on SIGHUP and when the files change, without dropping
connections; SIGHUP reloads the config values that are safe to reload).

A keep-alive connection opened before each reload keeps working on its
old session; new connections get the new certificate; a pair that does
not load (key of another certificate) keeps the old one.  A new log_level
applies at once; other changed keys are reported as waiting for a
restart; a config file that no longer parses is refused and the service
keeps running."""

import hashlib
import http.client
import os
import signal
import socket
import ssl
import subprocess
import unittest

import harness


def new_pair(dirpath, name):
    """A self-signed P-256 certificate for 127.0.0.1, as PEM files."""
    crt = os.path.join(dirpath, name + ".crt")
    key = os.path.join(dirpath, name + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=" + name, "-addext",
         "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", key, "-out", crt],
        check=True, capture_output=True)
    return crt, key


def der_sha256(pem_file):
    with open(pem_file) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def install(src, dst):
    """Replace dst with src's bytes by rename, as deployment tools do."""
    tmp = dst + ".new"
    with open(src, "rb") as f, open(tmp, "wb") as g:
        g.write(f.read())
    os.chmod(tmp, 0o600)
    os.replace(tmp, dst)


class TlsReload(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = harness.Instance()
        cls.i.start()
        cls.crt = os.path.join(cls.i.data, "tls.crt")
        cls.key = os.path.join(cls.i.data, "tls.key")
        cls.current = os.path.join(cls.i.dir, "first.crt")    # served now
        install(cls.crt, cls.current)

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def served(self):
        """SHA-256 of the certificate a new connection is given."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.i.port), 10) as s:
            with ctx.wrap_socket(s) as t:
                return hashlib.sha256(t.getpeercert(True)).hexdigest()

    def wait_served(self, fp, what):
        harness.wait_for(lambda: self.served() == fp, what, timeout=15,
                         step=0.1)

    def conn(self, cafile):
        """A keep-alive connection that trusts only cafile."""
        return http.client.HTTPSConnection(
            "127.0.0.1", self.i.port, timeout=10,
            context=ssl.create_default_context(cafile=cafile))

    def verified_get(self, cafile):
        """GET /healthz on a new connection that trusts only cafile."""
        conn = self.conn(cafile)
        try:
            return self.i.call("GET", "/healthz", conn=conn)[0]
        finally:
            conn.close()

    def keepalive_survives(self, reload, crt, key, what):
        old = self.conn(self.current)
        self.assertEqual(self.i.call("GET", "/healthz", conn=old)[0], 200)
        sock = old.sock
        old_fp = hashlib.sha256(sock.getpeercert(True)).hexdigest()
        install(crt, self.crt)
        install(key, self.key)
        reload()
        self.wait_served(der_sha256(crt), what)
        self.assertEqual(self.verified_get(crt), 200)
        type(self).current = crt
        type(self).current_key = key
        # The connection opened before the reload is still the same one,
        # on the old certificate, and still answers.
        self.assertEqual(self.i.call("GET", "/healthz", conn=old)[0], 200)
        self.assertIs(old.sock, sock, "the old connection was dropped")
        self.assertEqual(
            hashlib.sha256(old.sock.getpeercert(True)).hexdigest(), old_fp)
        old.close()

    def test_1_sighup_reloads(self):
        self.assertEqual(self.served(), der_sha256(self.crt))
        crt, key = new_pair(self.i.dir, "second")
        self.keepalive_survives(
            lambda: self.i.proc.send_signal(signal.SIGHUP), crt, key,
            "the certificate reloaded on SIGHUP")

    def test_2_changed_files_reload_without_a_signal(self):
        crt, key = new_pair(self.i.dir, "third")
        self.keepalive_survives(lambda: None, crt, key,
                                "the changed files picked up")

    def test_3_mismatched_pair_keeps_the_old_one(self):
        before = self.served()
        _, other_key = new_pair(self.i.dir, "other")
        install(other_key, self.key)
        self.i.proc.send_signal(signal.SIGHUP)
        self.wait_logged("TLS reload failed")
        self.assertEqual(self.served(), before)
        self.assertEqual(self.verified_get(self.current), 200)
        self.assertIsNone(self.i.proc.poll())
        k = self.log().count("TLS certificate reloaded")
        install(self.current_key, self.key)     # a good pair again
        self.wait_logged("TLS certificate reloaded", k + 1)

    def log(self):
        with open(os.path.join(self.i.dir, "tesserad.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def wait_logged(self, text, times=1):
        harness.wait_for(lambda: self.log().count(text) >= times,
                         repr(text) + " logged")

    def hup_with(self, extra):
        """Append lines to tesserad.conf and send SIGHUP."""
        conf = os.path.join(self.i.data, "tesserad.conf")
        with open(conf, "a") as f:
            f.write(extra)
        self.i.proc.send_signal(signal.SIGHUP)

    def test_4_log_level_applies_at_once(self):
        reloaded = "TLS certificate reloaded"
        self.assertNotIn("log_level is now", self.log())
        m = self.log().count(reloaded)
        self.hup_with("log_level = warn\n")
        self.wait_logged("config: log_level is now warn")
        # At warn, that SIGHUP's own certificate reload (an info line) is
        # not written; the next one, back at info, is.
        self.hup_with("log_level = info\n")
        harness.wait_for(lambda: reloaded in self.log().split(
            "config: log_level is now info")[-1] and
            "log_level is now info" in self.log(), "the reload at info")
        self.assertEqual(self.log().count(reloaded), m + 1)
        self.assertEqual(self.verified_get(self.current), 200)

    def test_5_other_keys_wait_for_a_restart(self):
        self.hup_with("cert_max_ttl = 2h\nissuer = Other\n")
        self.wait_logged("config: cert_max_ttl changed; it takes effect at "
                         "the next restart")
        self.wait_logged("config: issuer changed; it takes effect at the "
                         "next restart")
        self.assertEqual(self.verified_get(self.current), 200)

    def test_6_broken_config_is_refused_and_service_runs(self):
        self.hup_with("no_such_key = 1\n")
        self.wait_logged("config reload failed, keeping the running "
                         "configuration")
        line = self.log().split("config reload failed")[-1].splitlines()[0]
        self.assertIn("no_such_key", line)
        self.assertEqual(self.verified_get(self.current), 200)
        self.assertIsNone(self.i.proc.poll())


if __name__ == "__main__":
    unittest.main(verbosity=2)
