"""Host certificates end to end: a target joins with a token from
`tessera target token`, a real sshd on 127.0.0.1 presents the host
certificate it got, and a real ssh that trusts nothing but the
@cert-authority line of GET /v1/ca/host connects with
StrictHostKeyChecking=yes; an unsigned host key, a name the certificate
does not list, a spent token and a foreign name are refused; a renewal
extends the certificate; an unchanged KRL answers 304 and a revocation
changes its ETag.  Without host_ca_key the endpoints say so, and the user
CA's key as host_ca_key stops tesserad at start."""

import os
import pwd
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

LOGIN = pwd.getpwuid(os.getuid()).pw_name   # an account sshd can log into


def ssh(known_hosts, key, port, host="127.0.0.1", alias=None):
    args = ["ssh", "-F", "/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-i", key, "-o", "CertificateFile=" + key + "-cert.pub",
            "-p", str(port)]
    if alias is not None:
        args += ["-o", "HostKeyAlias=" + alias]
    return subprocess.run(args + [LOGIN + "@" + host, "id", "-un"],
                          capture_output=True, text=True, timeout=60)


def write(path, data, mode=0o644):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.chmod(path, mode)


class HostCerts(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.i = i = h.Instance()
        try:
            i.start()
            cls.acct, cls.admin = i.admin()
            _, cls.user, cls.pub = i.issuer(cls.admin, "alice", LOGIN)
            i.ok("PUT", "/v1/targets/prod/api",
                 {"labels": {}, "hosts": ["127.0.0.1", "api.test"]},
                 token=cls.admin)
        except BaseException:
            i.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.i.close()

    def cli_token(self, target, *extra):
        """`tessera target token` as the admin: the token it prints."""
        login = self.i.ok("POST", "/v1/login", {
            "username": "admin", "password": self.acct.password,
            "code": self.acct.next_code()})
        env = self.i.cli_env(login)
        p = subprocess.run([h.TESSERA, "--ca-file",
                            os.path.join(self.i.data, "tls.crt"), "target",
                            "token", target] + list(extra), env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^tsj_[0-9a-f]{64}\n$")
        return p.stdout.strip()

    def join(self, token, pub, hosts=None, want=201):
        body = {"token": token, "public_key": pub}
        if hosts is not None:
            body["hosts"] = hosts
        return self.i.ok("POST", "/v1/hosts/join", body, want=want)

    def test_ssh_trusts_the_host_certificate_and_nothing_else(self):
        i = self.i
        d = os.path.join(i.dir, "hostcerts")
        os.makedirs(d)
        token = self.cli_token("prod/api", "--ttl", "10m")
        hostkey, hostpub = h.ssh_keypair(d, "ssh_host_ed25519_key")
        r = self.join(token, hostpub)
        self.assertEqual(r["target"], "prod/api")
        self.assertEqual(r["principals"], ["127.0.0.1", "api.test"])
        self.assertTrue(r["credential"].startswith("tsh_"))
        write(hostkey + "-cert.pub", r["certificate"] + "\n")
        fields, principals = h.cert_fields(hostkey + "-cert.pub")
        self.assertIn("host certificate", fields["Type"])
        self.assertEqual(principals, ["127.0.0.1", "api.test"])
        self.assertEqual(fields["Key ID"],
                         '"host:prod/api:%d"' % r["serial"])

        # A spent token, a foreign name: refused, nothing signed.
        err = self.join(token, hostpub, want=401)
        self.assertEqual(err["error"]["code"], "invalid_credentials")
        other = self.cli_token("prod/api")
        err = self.join(other, hostpub, hosts=["db.test"], want=403)
        self.assertIn("db.test is not one of target prod/api's hosts",
                      err["error"]["message"])

        # The engineer: a user certificate, and only the @cert-authority
        # line as known_hosts.
        key = os.path.join(i.dir, "alice")
        c = i.ok("POST", "/v1/certs", {"public_key": self.pub,
                                       "target": "prod/api",
                                       "login": LOGIN},
                 token=self.user, want=201)
        write(key + "-cert.pub", c["certificate"] + "\n")
        ca_host = i.ok("GET", "/v1/ca/host").decode()
        self.assertRegex(ca_host, r"^@cert-authority \* ssh-ed25519 \S+ "
                                  r"tessera-host-ca\n$")
        kh = os.path.join(i.dir, "known_hosts")
        write(kh, ca_host)

        ca = i.ok("GET", "/v1/ca")
        snippet = i.ok("GET", "/v1/targets/prod/api/sshd",
                       token=self.admin).decode()
        sshd = h.Sshd(i.dir, ca.decode(), snippet, i.ok("GET", "/v1/krl"),
                      hostkey=hostkey, hostcert=hostkey + "-cert.pub")
        bare = h.Sshd(i.dir, ca.decode(), snippet, b"", name="bare")
        try:
            p = ssh(kh, key, sshd.port)
            self.assertEqual(p.returncode, 0, p.stderr + sshd.tail())
            self.assertEqual(p.stdout.strip(), LOGIN)
            self.assertEqual(os.path.getsize(kh), len(ca_host),
                             "ssh learnt nothing: the CA line sufficed")
            # The certificate lists api.test too (a HostKeyAlias).
            p = ssh(kh, key, sshd.port, alias="api.test")
            self.assertEqual(p.returncode, 0, p.stderr)
            # A name it does not list, and a host key nobody signed.
            p = ssh(kh, key, sshd.port, alias="db.test")
            self.assertEqual(p.returncode, 255)
            self.assertIn("Host key verification failed", p.stderr)
            p = ssh(kh, key, bare.port)
            self.assertEqual(p.returncode, 255)
            self.assertIn("Host key verification failed", p.stderr)
            self.assertNotIn(LOGIN + "\n", p.stdout)

            # Revocation reaches the target through the KRL: the ETag
            # moves, the new KRL shuts the certificate out.
            st, hd, _ = i.call("GET", "/v1/krl")
            etag = hd["etag"]
            self.assertEqual(hd["cache-control"], "max-age=10")
            st, hd, body = i.call("GET", "/v1/krl",
                                  headers={"If-None-Match": etag})
            self.assertEqual((st, body), (304, b""))
            i.ok("POST", "/v1/certs/%d/revoke" % c["serial"],
                 token=self.user)
            st, hd, krl = i.call("GET", "/v1/krl",
                                 headers={"If-None-Match": etag})
            self.assertEqual(st, 200)
            self.assertNotEqual(hd["etag"], etag)
            sshd.set_krl(krl)
            p = ssh(kh, key, sshd.port)
            self.assertEqual(p.returncode, 255)
            self.assertIn("Permission denied", p.stderr)
        finally:
            sshd.stop()
            bare.stop()

        # Renewal: the same host key, the credential as bearer.
        r2 = i.ok("POST", "/v1/hosts/renew", {"public_key": hostpub},
                  token=r["credential"], want=201)
        self.assertGreater(r2["serial"], r["serial"])
        self.assertNotIn("credential", r2)
        _, other_pub = h.ssh_keypair(d, "other")
        err = i.ok("POST", "/v1/hosts/renew", {"public_key": other_pub},
                   token=r["credential"], want=403)
        self.assertIn("not the host key", err["error"]["message"])
        self_ = i.ok("GET", "/v1/hosts/self", token=r["credential"])
        self.assertEqual(self_, {"target": "prod/api", "logins": [LOGIN],
                                 "hosts": ["127.0.0.1", "api.test"],
                                 "port": 22})
        # The engineer's route; a user without access is refused.
        route = i.ok("GET", "/v1/targets/prod/api/route", token=self.user)
        self.assertEqual(route["hosts"][0], "127.0.0.1")
        self.assertIsNone(route["gateway"])
        self.assertEqual(route["logins"], [LOGIN])
        # Audited, never with the secrets.
        trail = h.all_events(i, self.admin)
        actions = [e["action"] for e in trail]
        for a in ("target.token", "host.join", "host.renew"):
            self.assertIn(a, actions)
        text = str(trail)
        self.assertNotIn(token[4:], text)
        self.assertNotIn(r["credential"][4:], text)

    def test_tokens_need_targets_write(self):
        st, _, err = self.i.call("POST", "/v1/targets/prod/api/token",
                                 {"ttl": 60}, token=self.user)
        self.assertEqual(st, 403)
        self.assertEqual(err["error"]["message"],
                         "a join token needs targets:write")


class WithoutHostCa(unittest.TestCase):

    def setUp(self):
        self.i = i = h.Instance()
        self.addCleanup(i.close)
        with open(i.conf) as f:
            conf = f.read()
        self.hca = re.search(r"^host_ca_key = (.*)$", conf, re.M).group(1)
        self.conf_text = conf

    def set_host_ca(self, line):
        with open(self.i.conf, "w") as f:
            f.write(re.sub(r"^host_ca_key = .*$", line, self.conf_text,
                           flags=re.M))

    def test_no_host_ca_is_said_and_the_user_ca_refused(self):
        i = self.i
        self.set_host_ca("")
        i.start()
        st, _, err = i.call("GET", "/v1/ca/host")
        self.assertEqual(st, 404)
        self.assertEqual(err["error"]["message"],
                         "no host CA is configured (host_ca_key)")
        _, pub = h.ssh_keypair(i.dir, "hk")
        st, _, err = i.call("POST", "/v1/hosts/join",
                            {"token": "tsj_" + "0" * 64, "public_key": pub})
        self.assertEqual(st, 503)
        self.assertEqual(err["error"]["message"],
                         "no host CA is configured (host_ca_key)")
        i.stop()
        self.set_host_ca("host_ca_key = " + os.path.join(i.data, "ca.key"))
        p = subprocess.run([h.TESSERAD, "--config", i.conf], env=i.env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn("is the same key as ca_key", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
