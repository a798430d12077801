// What the browser tests share: a real tesserad on 127.0.0.1 made by
// tessera init, API calls, TOTP codes from oathtool, headless Chromium
// (playwright-core) trusting the dev certificate, axe-core, and cleanup
// of every child process and the temp dir on every path.
//
// Exit 77 (skipped) only when chromium is missing.

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.TESSERA_CHROMIUM || '/usr/bin/chromium';
export const BUILD = path.resolve(process.env.TESSERA_BUILD_DIR || 'build');
export const TESSERA = path.join(BUILD, 'tessera');
export const TESSERAD = path.join(BUILD, 'tesserad');
const DEADLINE_MS = 240 * 1000;

if (!fs.existsSync(CHROMIUM)) {
  console.log(`e2e: ${CHROMIUM} not found: skipped`);
  process.exit(77);
}

export let chromium;
export let axeSource = null;
try {
  ({ chromium } = await import('playwright-core'));
  axeSource = createRequire(import.meta.url)('axe-core').source;
} catch (e) {
  console.error('e2e: playwright-core or axe-core is not installed: run `npm ci --prefix tests/e2e` (make test does)');
  process.exit(1);
}

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e.'));
export const data = path.join(tmp, 'data');
export const shots = path.join(tmp, 'screenshots');
fs.mkdirSync(shots);
export const children = new Set();
const browsers = [];   // every launchBrowser(), closed by cleanup()
export let checks = 0;
export let axeRuns = 0;

export function log(...a) { console.log('e2e:', ...a); }

export function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  checks++;
}

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// Poll fn() until it returns something truthy, at most ms.
export async function waitFor(fn, what, ms = 20000, step = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(step);
  }
}

export function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', ...opts });
}

// ---- TOTP: each step is accepted once per user, and only ascending ----

export class Account {
  constructor(name, password) {
    this.name = name;
    this.password = password;
    this.secret = null;
    this.lastStep = 0;
  }

  nextCode() {
    const now = Math.floor(Date.now() / 1000);
    for (const step of [Math.floor(now / 30) - 1, Math.floor(now / 30),
      Math.floor(now / 30) + 1]) {
      if (step > this.lastStep) {
        this.lastStep = step;
        return run('oathtool', ['--totp', '-b', this.secret, '-N',
          '@' + (step * 30 + 1)]).trim();
      }
    }
    throw new Error('no fresh TOTP step for ' + this.name);
  }

  // The next code, waiting (bounded) for a step not used yet.
  async freshCode() {
    return waitFor(() => {
      try { return this.nextCode(); } catch (e) { return null; }
    }, 'a fresh TOTP step for ' + this.name, 35000, 500);
  }
}

// ---- tesserad ----

export let port = 0;
export let caPem = null;

export function call(method, p, body, token) {
  return new Promise((resolve, reject) => {
    const headers = {};
    let data = null;
    if (body !== undefined) {
      data = Buffer.from(JSON.stringify(body));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = data.length;
    }
    if (token) headers.Authorization = 'Bearer ' + token;
    const req = https.request({ host: '127.0.0.1', port, method, path: p,
      headers, ca: caPem, timeout: 30000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const raw = bytes.toString('utf8');
        let json = null;
        if ((res.headers['content-type'] || '').startsWith('application/json'))
          json = JSON.parse(raw);
        resolve({ status: res.statusCode, headers: res.headers, json, raw, bytes });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    if (data) req.write(data);
    req.end();
  });
}

export async function ok(method, p, body, token, want = 200) {
  const r = await call(method, p, body, token);
  if (r.status !== want)
    throw new Error(`${method} ${p}: ${r.status} ${r.raw} (want ${want})`);
  return r.json;
}

export function startChild(cmd, args, opts) {
  const c = spawn(cmd, args, opts);
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

let conf = null;

// tesserad on listen over data, up when /healthz answers; sets port.
async function launch(listen) {
  const env = { ...process.env, TESSERA_LISTEN: listen,
    TESSERA_AUDIT_LOG: path.join(tmp, 'audit.log'),
    TESSERA_ARGON2_MEMORY_KIB: '1024', TESSERA_ARGON2_TIME: '1' };
  const portfile = path.join(data, 'tesserad.port');
  fs.rmSync(portfile, { force: true });
  const logfd = fs.openSync(path.join(tmp, 'tesserad.log'), 'a');
  const d = startChild(TESSERAD, ['--config', conf], { env,
    stdio: ['ignore', logfd, logfd] });
  fs.closeSync(logfd);
  port = await waitFor(() => {
    if (d.exitCode !== null)
      throw new Error('tesserad exited ' + d.exitCode + ': ' + tail());
    try { return parseInt(fs.readFileSync(portfile, 'utf8'), 10) || 0; } catch (e) { return 0; }
  }, 'tesserad.port');
  await waitFor(async () => {
    try { return (await call('GET', '/healthz')).status === 200; } catch (e) { return false; }
  }, '/healthz');
  log('tesserad on port', port);
  return d;
}

export async function startServer() {
  const out = run(TESSERA, ['init', '--data', data, '--dev', '--admin', 'admin']);
  const m = out.match(/^https:\/\/\S+\/enroll#token=([0-9a-f]{64})$/m);
  check(m, 'tessera init prints the admin enrollment link');
  // Listen on an ephemeral port and let public_url follow it, so the
  // browser's Origin is the one the server expects.
  conf = path.join(data, 'tesserad.conf');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8')
    .split('\n').filter((l) => !/^\s*public_url\s*=/.test(l)).join('\n'));
  caPem = fs.readFileSync(path.join(data, 'tls.crt'));
  return { server: await launch('127.0.0.1:0'), adminToken: m[1] };
}

// Stop server (SIGTERM, exit 0), run between() on the stopped store, and
// start tesserad again on the same port (same origin: the browsers'
// sessions, kept in the store, go on).  Returns the new process.
export async function restartServer(server, between) {
  server.kill('SIGTERM');
  await waitFor(() => server.exitCode !== null || server.signalCode !== null,
    'tesserad to stop', 15000);
  check(server.exitCode === 0, 'tesserad exit ' + server.exitCode);
  between();
  return launch('127.0.0.1:' + port);
}

// The lock that lock_after (100) consecutive wrong logins leave on name's
// user record (locked, 100 failures), written into the stopped server's
// store with lmdb-utils: the throttle before the lock (up to 15 minutes
// a try) is more than a test can wait out.
export function lockUserOffline(name) {
  const dump = run('mdb_dump', ['-s', 'users', data]).split('\n');
  const key = ' ' + Buffer.from(name).toString('hex');
  const i = dump.indexOf(key);
  check(i > 0 && dump[i + 1].startsWith(' '), 'the users DB holds ' + name);
  const v = Buffer.from(dump[i + 1].trim(), 'hex');
  check(v[0] === 0x54 && v[1] === 0x55, 'a user record');
  let off = 3;
  off += 4 + v.readUInt32BE(off);                 // name
  const ngroups = v.readUInt32BE(off);
  off += 4;
  for (let g = 0; g < ngroups; g++) off += 4 + v.readUInt32BE(off);
  off += 2;                                       // disabled, state
  v[off++] = 1;                                   // locked
  off += 4 + v.readUInt32BE(off);                 // password hash
  off += 4 + v.readUInt32BE(off);                 // sealed TOTP secret
  off += 8;                                       // last TOTP step
  v.writeUInt32BE(100, off);                      // failures
  dump[i + 1] = ' ' + v.toString('hex');
  const f = path.join(tmp, 'users.dump');
  fs.writeFileSync(f, dump.join('\n'));
  run('mdb_load', ['-s', 'users', '-f', f, data]);
}

export function tail() {
  try {
    return fs.readFileSync(path.join(tmp, 'tesserad.log'), 'utf8').slice(-2000);
  } catch (e) { return ''; }
}

// Enroll through the API (the admin; alice uses the browser).
export async function enrollApi(token, acct) {
  const s = await ok('POST', '/v1/enroll/start', { token, password: acct.password });
  acct.secret = s.totp_secret;
  await ok('POST', '/v1/enroll/finish', { token, code: acct.nextCode() });
  const l = await ok('POST', '/v1/login', { username: acct.name,
    password: acct.password, code: acct.nextCode() });
  return l.token;
}

// ---- a real sshd on 127.0.0.1, configured from the broker's answers ----

export const LOGIN = os.userInfo().username;   // an account sshd can log into

// A port free right now (sshd takes it a moment later).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
}

// sshd -D trusting the CA of GET /v1/ca, with target's principals from
// GET /v1/targets/<target>/sshd and RevokedKeys from GET /v1/krl, as
// tests/integration/harness.py configures it.  Stop it with stop().
export class Sshd {
  static async start(target, at) {
    const s = new Sshd();
    s.dir = path.join(tmp, 'sshd');
    fs.mkdirSync(path.join(s.dir, 'principals'), { recursive: true });
    fs.mkdirSync('/run/sshd', { recursive: true });
    fs.writeFileSync(path.join(s.dir, 'ca.pub'), (await call('GET', '/v1/ca')).raw);
    s.krl = path.join(s.dir, 'revoked.krl');
    await s.refreshKrl();
    const snippet = (await call('GET', `/v1/targets/${target}/sshd`, undefined, at)).raw;
    const m = snippet.match(new RegExp(`^# /etc/ssh/tessera_principals/${LOGIN}:\\n(\\S+)$`, 'm'));
    check(m, `the sshd snippet of ${target} lists ${LOGIN}'s principal: ` + snippet);
    fs.writeFileSync(path.join(s.dir, 'principals', LOGIN), m[1] + '\n');
    const hostKey = path.join(s.dir, 'host_ed25519');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    s.port = await freePort();
    const conf = path.join(s.dir, 'sshd_config');
    fs.writeFileSync(conf, [`ListenAddress 127.0.0.1:${s.port}`,
      'HostKey ' + hostKey, 'UsePAM no', 'StrictModes no', 'PidFile none',
      'AuthorizedKeysFile none', 'PermitRootLogin prohibit-password',
      'LogLevel VERBOSE', 'TrustedUserCAKeys ' + path.join(s.dir, 'ca.pub'),
      `AuthorizedPrincipalsFile ${s.dir}/principals/%u`,
      'RevokedKeys ' + s.krl, ''].join('\n'));
    const logfd = fs.openSync(path.join(s.dir, 'sshd.log'), 'a');
    s.proc = startChild('/usr/sbin/sshd', ['-D', '-e', '-f', conf],
      { stdio: ['ignore', logfd, logfd] });
    fs.closeSync(logfd);
    await waitFor(() => new Promise((resolve, reject) => {
      if (s.proc.exitCode !== null) reject(new Error('sshd exited: ' + s.tail()));
      const c = net.connect(s.port, '127.0.0.1', () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    }), 'sshd on port ' + s.port);
    return s;
  }

  // The KRL served now, replacing sshd's file atomically (sshd rereads it
  // for each connection and refuses every key while it is unreadable).
  async refreshKrl() {
    const r = await call('GET', '/v1/krl');
    check(r.status === 200 && r.bytes.length > 0, 'GET /v1/krl answers a KRL');
    fs.writeFileSync(this.krl + '.tmp', r.bytes);
    fs.renameSync(this.krl + '.tmp', this.krl);
  }

  // ssh -i key with key-cert.pub as LOGIN: {code, stderr}.
  ssh(key) {
    try {
      execFileSync('ssh', ['-F', '/dev/null', '-o', 'IdentitiesOnly=yes',
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-i', key,
        '-o', 'CertificateFile=' + key + '-cert.pub', '-p', String(this.port),
        LOGIN + '@127.0.0.1', 'true'], { encoding: 'utf8', timeout: 60000,
        stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, stderr: '' };
    } catch (e) {
      return { code: e.status, stderr: String(e.stderr) };
    }
  }

  tail() {
    try {
      return fs.readFileSync(path.join(this.dir, 'sshd.log'), 'utf8').slice(-2000);
    } catch (e) { return ''; }
  }

  async stop() {
    this.proc.kill('SIGTERM');
    await waitFor(() => this.proc.exitCode !== null || this.proc.signalCode !== null,
      'sshd to stop', 10000);
  }
}

// SPKI pin of the dev TLS certificate, so Chromium trusts exactly it.
export function spkiPin(pem) {
  const der = new crypto.X509Certificate(pem).publicKey
    .export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

// A headless Chromium with a fresh profile (--user-data-dir, which
// playwright takes as the persistent context's directory); the dev
// certificate trusted by its SPKI pin rather than by ignoring
// certificate errors.  Each call is another browser with its own profile
// (name), so a second user can be signed in at the same time.
export async function launchBrowser(name = 'chromium-profile') {
  const profile = path.join(tmp, name);
  fs.mkdirSync(profile);
  const b = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 900, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--ignore-certificate-errors-spki-list=' + spkiPin(caPem)],
  });
  browsers.push(b);
  return b;
}

// tesserad started, its admin enrolled through the API (at: a bearer
// token) and target lab/box (env=lab) made.
export async function startWithAdmin() {
  const { server, adminToken } = await startServer();
  const admin = new Account('admin', 'correct horse battery staple');
  const at = await enrollApi(adminToken, admin);
  await ok('PUT', '/v1/targets/lab/box', { labels: { env: 'lab' } }, at);
  return { server, base: `https://127.0.0.1:${port}`, admin, at };
}

// Console errors and page errors of page, collected.  Error statuses the
// pages expect (401 before sign-in, a wrong code) show up as "Failed to
// load resource"; anything else is a problem.
export function watchPage(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
      problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  return problems;
}

// A full-page screenshot of page into the screenshots kept.
export function shooter(page) {
  return async (name) => {
    await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  };
}

// axe-core on page, evaluated through the DevTools protocol (the page's
// CSP allows no injected script): serious or critical violations fail.
export function axeChecker(page) {
  return async (name) => {
    if (!await page.evaluate(() => typeof window.axe !== 'undefined'))
      await page.evaluate(axeSource);
    if (axeRuns === 0) {
      // Once: the check can fail (an unlabelled input is critical).
      const probe = await page.evaluate(async () => {
        const i = document.createElement('input');
        document.querySelector('main').appendChild(i);
        const r = await window.axe.run(document, { runOnly: ['label'] });
        i.remove();
        return r.violations.map((v) => v.id + ':' + v.impact);
      });
      check(probe.includes('label:critical'), 'axe catches an unlabelled input: ' + probe);
    }
    const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    check(bad.length === 0, `axe on ${name}: ` + bad.map((v) => v.id + ' ' +
      v.nodes.map((n) => n.target.join(' ')).join(', ')).join('; '));
    axeRuns++;
  };
}

let keep = 'screenshots';

export async function cleanup() {
  for (const b of browsers) {
    try { await b.close(); } catch (e) { /* already gone */ }
  }
  for (const c of children) {
    try { c.kill('SIGTERM'); } catch (e) { /* gone */ }
  }
  await waitFor(() => children.size === 0, 'children to exit', 10000)
    .catch(() => { for (const c of children) c.kill('SIGKILL'); });
  try {
    const dir = path.join(BUILD, 'tests', 'e2e', keep);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(shots))
      fs.copyFileSync(path.join(shots, f), path.join(dir, f));
  } catch (e) { /* screenshots are a courtesy */ }
  if (process.env.TESSERA_E2E_KEEP)
    console.log('e2e: kept', tmp);
  else
    fs.rmSync(tmp, { recursive: true, force: true });
}

// Run main under the deadline; report, clean up and exit.  The
// screenshots are copied to <build>/tests/e2e/<keepDir>.
export async function runMain(main, keepDir = 'screenshots') {
  keep = keepDir;
  const timer = setTimeout(async () => {
    console.error('e2e: overall deadline passed');
    await cleanup();
    process.exit(1);
  }, DEADLINE_MS);

  let rc = 0;
  const t0 = Date.now();
  try {
    await main();
    console.log(`e2e: ${axeRuns} axe-core runs without serious or critical violations`);
    console.log(`e2e: ${checks} checks in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log('1 passed, 0 failed');
  } catch (e) {
    console.error('e2e: FAILED:', e && e.stack ? e.stack : e);
    console.error('e2e: tesserad log tail:\n' + tail());
    console.log('0 passed, 1 failed');
    rc = 1;
}
  clearTimeout(timer);
  await cleanup();
  process.exit(rc);
}
