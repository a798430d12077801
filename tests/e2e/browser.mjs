// Browser test of Tessera's pages, end to end: a real tesserad on
// 127.0.0.1, Debian's headless Chromium driven by playwright-core, real
// oathtool codes, the real `tessera login --browser` and ssh-keygen.
//
// Story: the admin enrolls and sets up policy through the API; alice
// enrolls in the browser (/enroll), signs in (/), starts a device login
// from the CLI and approves its code on /device; the CLI receives a
// certificate that ssh-keygen -L reads.  A second request is denied on
// the page and its poll answers access_denied.  Then alice's console:
// a certificate for a real key picked as a file (ssh-keygen -L reads it,
// the ssh command follows the target's route, the countdown moves, copy
// and download give the same bytes), revoked on "My certificates" until
// the KRL refuses it; another session ended, then all others; new
// recovery codes; a new password, then a login with it and a new code.
// axe-core runs on every console state (serious or critical violations
// fail), and the views are checked to fit 375 px.  Each page is
// screenshotted (copied to <build>/tests/e2e/screenshots for people to
// look at), and any console error or CSP violation fails the test.
//
// Exit 77 (skipped) only when chromium is missing; processes are stopped
// by pid and the temp dir removed on every path.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {
  TESSERA, tmp, data, shots, log, check, sleep, waitFor, run, Account,
  port, caPem, ok, call, startChild, startServer, tail, enrollApi,
  launchBrowser, axeChecker, runMain, watchPage, shooter, startWithAdmin,
} from './harness.mjs';

function keyFingerprint(pub) {
  // "256 SHA256:xxx comment (ED25519)"
  return run('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub]).split(' ')[1];
}

async function main() {
  const { server, base, admin, at } = await startWithAdmin();

  // ---- admin: policy and a user, through the API ----
  await ok('PUT', '/v1/roles/dev', { rules: [{ targets: ['lab/*'],
    logins: ['app'] }], max_ttl: 3600 }, at);
  const nu = await ok('POST', '/v1/users', { username: 'alice',
    groups: ['dev'] }, at, 201);
  await ok('POST', '/v1/bindings', { role: 'dev', subject: 'group:dev' }, at, 201);
  check(/\/enroll#token=[0-9a-f]{64}$/.test(nu.enroll_url), 'enroll_url shape');
  const aliceLink = base + '/enroll#token=' + nu.enroll_token;

  // ---- the browser ----
  const ctx = await launchBrowser();
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = watchPage(page);
  const shot = shooter(page);
  const visible = (sel) => page.waitForSelector(sel, { state: 'visible', timeout: 15000 });
  const axeCheck = axeChecker(page);

  // /enroll without a token says so.
  await page.goto(base + '/enroll');
  await visible('#enroll-notoken');
  await page.goto('about:blank');

  // /enroll: password, authenticator, recovery codes.
  const alice = new Account('alice', 'a long passphrase for alice');
  const resp = await page.goto(aliceLink);
  check(resp.status() === 200, 'GET /enroll is 200');
  const csp = resp.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), 'page CSP: ' + csp);
  await visible('#enroll-password');
  await shot('enroll-1-password');
  await page.fill('#enroll-pw1', alice.password);
  await page.fill('#enroll-pw2', alice.password + 'x');
  await page.click('#enroll-pw-submit');
  await visible('#enroll-pw-error');
  check(/differ/.test(await page.textContent('#enroll-pw-error')), 'mismatch refused on the page');
  await page.fill('#enroll-pw2', alice.password);
  await page.click('#enroll-pw-submit');
  await visible('#enroll-totp');
  alice.secret = (await page.textContent('#enroll-secret')).replace(/\s+/g, '');
  check(/^[A-Z2-7]{32,}$/.test(alice.secret), 'secret shown as base32: ' + alice.secret);
  check(await page.textContent('#enroll-user') === 'alice', 'enroll page names the user');
  await page.waitForFunction(() => {
    const i = document.getElementById('enroll-qr');
    return i.complete && i.naturalWidth > 0;
  }, null, { timeout: 10000 });
  check((await page.getAttribute('#enroll-qr', 'src')).startsWith('data:image/svg+xml;base64,'),
    'QR shown as a data: image');
  await shot('enroll-2-totp');
  await page.fill('#enroll-code', alice.nextCode());
  await page.click('#enroll-code-submit');
  await visible('#enroll-done');
  const codes = await page.$$eval('#enroll-codes li', (l) => l.map((e) => e.textContent));
  check(codes.length === 10, 'ten recovery codes: ' + codes.length);
  check(!page.url().includes('token='), 'token dropped from the address bar');
  await shot('enroll-3-done');

  // /: sign in, see groups and access.
  await page.goto(base + '/');
  await visible('#login');
  await axeCheck('index-1-login');
  await shot('index-1-login');
  await page.fill('#login-username', 'alice');
  await page.fill('#login-password', alice.password);
  await page.fill('#login-code', '000000');
  await page.click('#login-submit');
  await visible('#login-error');
  check(/Wrong username, password or code/.test(await page.textContent('#login-error')),
    'wrong code refused');
  await page.fill('#login-password', alice.password);
  await page.fill('#login-code', alice.nextCode());
  await page.click('#login-submit');
  await visible('#me');
  check(await page.textContent('#me-user') === 'alice', 'signed in as alice');
  check(await page.textContent('#me-groups') === 'dev', 'groups shown');
  const rows = await page.$$eval('#me-access-rows tr', (l) => l.map((e) => e.textContent));
  check(rows.length === 1 && rows[0].includes('lab/box') && rows[0].includes('app'),
    'access shown: ' + JSON.stringify(rows));
  const cookies = await ctx.cookies();
  const c = cookies.find((x) => x.name === '__Host-tessera');
  check(c && c.httpOnly && c.secure && c.sameSite === 'Strict', 'session cookie flags');
  await axeCheck('index-2-me');
  await shot('index-2-me');

  // ---- device flow: the CLI asks, the page approves ----
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { mode: 0o700 });
  const identity = path.join(home, '.ssh', 'id_ed25519');
  const cliEnv = { ...process.env, HOME: home };
  delete cliEnv.SSH_AUTH_SOCK;
  delete cliEnv.TESSERA_SERVER;
  let cliErr = '';
  const cli = startChild(TESSERA, ['--server', base, '--ca-file',
    path.join(data, 'tls.crt'), 'login', '--browser', '--identity', identity,
    '--target', 'lab/box', '--login', 'app', '--ttl', '15m'],
  { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  cli.stderr.on('data', (d) => { cliErr += d; });
  cli.stdout.on('data', (d) => { cliErr += d; });
  const userCode = await waitFor(() => {
    if (cli.exitCode !== null) throw new Error('tessera login exited: ' + cliErr);
    const mm = cliErr.match(/enter the code ([A-Z]{4}-[A-Z]{4})/);
    return mm && mm[1];
  }, 'the user code from tessera login --browser');
  log('user code', userCode);

  await page.goto(base + '/device');
  await visible('#device-enter');
  check(await page.textContent('#device-me') === 'alice', 'device page knows the user');
  await shot('device-1-enter');
  // Typed as a person might: lower case, no dash.
  await page.fill('#device-code', userCode.replace('-', '').toLowerCase());
  await page.click('#device-lookup');
  await visible('#device-review');
  check(await page.textContent('#review-code') === userCode, 'review shows the code');
  const fp = keyFingerprint(identity + '.pub');
  check(await page.textContent('#review-fp') === fp, 'review shows the key fingerprint ' + fp);
  check(await page.textContent('#review-target') === 'lab/box', 'review shows the target');
  check(await page.textContent('#review-login') === 'app', 'review shows the login');
  await shot('device-2-review');
  await page.click('#device-approve');
  await visible('#device-result');
  check(await page.textContent('#result-title') === 'Approved', 'approved on the page');
  await shot('device-3-approved');

  const code = await waitFor(() => cli.exitCode !== null && { rc: cli.exitCode },
    'tessera login --browser to finish', 40000, 100);
  check(code.rc === 0, 'tessera login --browser exit 0: ' + cliErr);
  const certFile = identity + '-cert.pub';
  check(fs.existsSync(certFile), 'certificate written to ' + certFile);
  const shown = run('ssh-keygen', ['-L', '-f', certFile]);
  check(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/.test(shown),
    'ssh-keygen -L reads a user certificate');
  check(/Key ID: "alice:\d+"/.test(shown), 'key id names alice');
  check(/Principals:\s*\n\s*app@lab\/box\s*\n/.test(shown), 'principal app@lab/box');

  // ---- a second request, denied on the page ----
  const pub = fs.readFileSync(identity + '.pub', 'utf8').trim();
  const dv = await ok('POST', '/v1/device', { public_key: pub, target: 'lab/box' });
  check(dv.verification_uri === base + '/device', 'verification_uri ' + dv.verification_uri);
  await page.goto(dv.verification_uri_complete);
  await visible('#device-review');
  await page.click('#device-deny');
  await visible('#device-result');
  check(await page.textContent('#result-title') === 'Denied', 'denied on the page');
  await shot('device-4-denied');
  const polled = await call('POST', '/v1/device/token', { device_code: dv.device_code });
  check(polled.status === 400 && polled.json.error.code === 'access_denied',
    'denied request polls access_denied: ' + polled.raw);

  // ---- API edges ----
  // A cookie-authenticated approval without the CSRF header is refused.
  const noCsrf = await page.evaluate((uc) => fetch('/v1/device/approve', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_code: uc }) }).then((r) => r.status),
  dv.user_code);
  check(noCsrf === 403, 'approve without X-CSRF-Token: ' + noCsrf);
  let r = await call('GET', '/v1/device/pending?user_code=' + dv.user_code);
  check(r.status === 401, 'pending needs a session: ' + r.status);
  r = await call('GET', '/v1/device/pending?user_code=nope', undefined, at);
  check(r.status === 400, 'malformed user code: ' + r.raw);
  r = await call('GET', '/v1/device/pending?user_code=BCDF-GHJK', undefined, at);
  check(r.status === 404, 'unknown user code: ' + r.raw);
  r = await call('POST', '/v1/device', { public_key: pub, scope: 'x' });
  check(r.status === 400 && r.json.error.code === 'bad_request', 'unknown field: ' + r.raw);
  r = await call('POST', '/v1/device', { public_key: 'ssh-ed25519 AAAA' });
  check(r.status === 400 && r.json.error.code === 'invalid_public_key', 'bad key: ' + r.raw);
  r = await call('POST', '/v1/device', { public_key: pub, ttl: '1h' });
  check(r.status === 400, 'string ttl: ' + r.raw);
  r = await call('POST', '/v1/device/token', { device_code: '0'.repeat(64) });
  check(r.status === 400 && r.json.error.code === 'invalid_grant', 'unknown device code: ' + r.raw);
  r = await call('POST', '/v1/device/token', { device_code: dv.device_code });
  check(r.status === 400 && r.json.error.code === 'access_denied', 'still denied: ' + r.raw);
  // Static assets: right types, revalidated by ETag.
  r = await call('GET', '/static/app.js');
  check(r.status === 200 && r.headers['content-type'] === 'text/javascript; charset=utf-8',
    'app.js type ' + r.headers['content-type']);
  const etag = r.headers.etag;
  check(/^"[0-9a-f]{16}"$/.test(etag || '') && r.headers['cache-control'] === 'no-cache',
    'app.js ETag and Cache-Control');
  const again = await new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/static/app.js', ca: caPem,
      headers: { 'If-None-Match': etag } }, (res) => { res.resume(); resolve(res.statusCode); })
      .on('error', reject);
  });
  check(again === 304, 'If-None-Match gives 304: ' + again);
  r = await call('GET', '/static/style.css');
  check(r.status === 200 && r.headers['content-type'] === 'text/css; charset=utf-8', 'style.css type');
  // Device requests are rate-limited per address.
  let limited = null;
  for (let i = 0; i < 40 && !limited; i++) {
    r = await call('POST', '/v1/device', { public_key: pub });
    if (r.status === 429) limited = r;
    else check(r.status === 200, 'device request ' + r.status);
  }
  check(limited && limited.headers['retry-after'], 'device requests hit 429 with Retry-After');

  // The trail names alice for both decisions and the certificate.
  const au = await ok('GET', '/v1/audit?limit=1000', undefined, at);
  const acts = au.events.filter((e) => e.actor === 'alice').map((e) => e.action);
  for (const a of ['enroll.finish', 'login.ok', 'device.approve', 'device.deny', 'cert.issue'])
    check(acts.includes(a), 'audit has ' + a + ' by alice: ' + acts.join(','));

  // ---- the engineer's console: certificate, revoke, sessions, account ----
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const webKey = path.join(home, '.ssh', 'web_key');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@web', '-f', webKey]);
  // The target gains a host and port, so the page can show plain ssh.
  await ok('PUT', '/v1/targets/lab/box', { labels: { env: 'lab' },
    hosts: ['127.0.0.1'], port: 2222 }, at);
  await page.goto(base + '/#/cert');
  await visible('#cert-form');
  await axeCheck('cert-1-form');
  await shot('cert-1-form');
  const targets = await page.$$eval('#cert-target option', (l) => l.map((o) => o.value));
  check(JSON.stringify(targets) === '["lab/box"]', 'targets offered: ' + targets);
  const logins = await page.$$eval('#cert-login option', (l) => l.map((o) => o.value));
  check(JSON.stringify(logins) === '["app"]', 'logins offered: ' + logins);
  const ttls = await page.$$eval('#cert-ttl option', (l) => l.map((o) => +o.value));
  check(ttls.length > 0 && Math.max(...ttls) === 3600, 'TTLs capped by max_ttl: ' + ttls);
  // A refusal shows the server's reason.
  await page.fill('#cert-key', 'ssh-ed25519 AAAA broken');
  await page.click('#cert-submit');
  await visible('#cert-error');
  const refusal = await page.textContent('#cert-error');
  check(/^Refused: .*public_key|^Refused: .*key/i.test(refusal), 'refusal explained: ' + refusal);
  await axeCheck('cert-2-refused');
  await shot('cert-2-refused');
  // The real key, picked as a file.
  await page.setInputFiles('#cert-file', webKey + '.pub');
  await page.waitForFunction(() => document.getElementById('cert-key').value.startsWith('ssh-ed25519 '));
  await page.selectOption('#cert-ttl', '900');
  await page.click('#cert-submit');
  await visible('#cert-result');
  check(await page.isHidden('#cert-error'), 'no error after success');
  const certText = (await page.inputValue('#cert-text')).trim();
  const webCert = webKey + '-cert.pub';
  fs.writeFileSync(webCert, certText + '\n');
  const shownWeb = run('ssh-keygen', ['-L', '-f', webCert]);
  check(/Type: ssh-ed25519-cert-v01@openssh.com user certificate/.test(shownWeb),
    'browser certificate read by ssh-keygen -L');
  check(/Principals:\s*\n\s*app@lab\/box\s*\n/.test(shownWeb), 'browser certificate principal');
  check(fs.readFileSync(webKey + '.pub', 'utf8').split(' ')[1] ===
    run('ssh-keygen', ['-y', '-f', webKey]).split(' ')[1], 'key pair sanity');
  const serial = +shownWeb.match(/Serial: (\d+)/)[1];
  const valid = shownWeb.match(/Valid: from (\S+) to (\S+)/);
  const life = (Date.parse(valid[2]) - Date.parse(valid[1])) / 1000;
  check(life === 900 + 300, 'TTL 15 min (+5 min skew): ' + life);
  check(await page.textContent('#cert-filename') === 'web_key-cert.pub', 'file name from the key file');
  const cmd = await page.textContent('#cert-cmd');
  check(cmd === 'ssh -i ~/.ssh/web_key -o CertificateFile=~/.ssh/web_key-cert.pub -p 2222 app@127.0.0.1',
    'plain ssh command from the route: ' + cmd);
  check(/tessera ssh lab\/box -l app/.test(await page.textContent('#cert-cmd-hint')), 'tessera ssh shown too');
  const c1 = await page.textContent('#cert-countdown');
  check(/^1[45] min \d+ s left$/.test(c1), 'countdown: ' + c1);
  await waitFor(async () => (await page.textContent('#cert-countdown')) !== c1, 'the countdown to move', 5000);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#cert-download')]);
  check(dl.suggestedFilename() === 'web_key-cert.pub', 'download name ' + dl.suggestedFilename());
  check(fs.readFileSync(await dl.path(), 'utf8') === certText + '\n', 'downloaded certificate');
  await page.click('#cert-copy');
  await page.waitForFunction(() => document.getElementById('cert-copied').textContent !== '');
  check(await page.evaluate(() => navigator.clipboard.readText()) === certText + '\n', 'copied certificate');
  await axeCheck('cert-3-result');
  await shot('cert-3-result');
  await page.setViewportSize({ width: 375, height: 800 });
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'cert result fits 375 px');
  await shot('cert-4-result-375px');
  await page.setViewportSize({ width: 1440, height: 900 });
  await shot('cert-5-result-1440px');
  await page.setViewportSize({ width: 900, height: 800 });

  // My certificates, reached by keyboard alone: Tab from the top of a
  // fresh page (the skip link comes first) to the nav entry, then Enter.
  await page.goto(base + '/');
  await visible('#me');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.className) === 'skip', 'the skip link first');
  let tabs = 0;
  while (await page.evaluate(() => document.activeElement.getAttribute('data-view')) !== 'certs') {
    check(++tabs < 20, 'My certificates reachable by Tab');
    await page.keyboard.press('Tab');
  }
  check(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle) !== 'none',
    'focus is visible on the nav entry');
  await page.keyboard.press('Enter');
  // Revoke the browser's certificate; the KRL then refuses it.
  await visible('#certs-table');
  check(await page.evaluate(() => document.activeElement.tagName) === 'H1', 'focus on the view heading');
  await axeCheck('certs-1-list');
  await shot('certs-1-list');
  await page.click(`button[aria-label="Revoke certificate ${serial}"]`);
  await page.waitForFunction((s) => [...document.querySelectorAll('#certs-rows tr')]
    .some((tr) => tr.cells[0].textContent === String(s) && tr.cells[3].textContent === 'revoked'), serial);
  check(/revoked/.test(await page.textContent('#certs-note')), 'revocation said');
  await axeCheck('certs-2-revoked');
  await shot('certs-2-revoked');
  const krl = await call('GET', '/v1/krl');
  const krlFile = path.join(tmp, 'krl.bin');
  await new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/v1/krl', ca: caPem }, (res) => {
      const ch = [];
      res.on('data', (d) => ch.push(d));
      res.on('end', () => { fs.writeFileSync(krlFile, Buffer.concat(ch)); resolve(); });
    }).on('error', reject);
  });
  check(krl.status === 200, 'KRL fetched');
  let q = '';
  try { q = run('ssh-keygen', ['-Q', '-f', krlFile, webCert]); } catch (e) { q = String(e.stdout); }
  check(/REVOKED/.test(q), 'the KRL revokes the browser certificate: ' + q);

  // My sessions: two more (recovery codes from enrollment), end one, then all others.
  const other = await ok('POST', '/v1/login', { username: 'alice', password: alice.password, code: codes[0] });
  const third = await ok('POST', '/v1/login', { username: 'alice', password: alice.password, code: codes[1] });
  await page.click('#nav-list a[data-view="sessions"]');
  await page.waitForFunction(() => document.querySelectorAll('#sessions-rows tr').length === 3);
  check((await page.textContent('#sessions-rows tr:first-child')).includes('(this browser)'), 'this browser first');
  await axeCheck('sessions-1-list');
  await shot('sessions-1-list');
  await page.setViewportSize({ width: 375, height: 800 });
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 375, 'sessions fit 375 px');
  await shot('sessions-2-375px');
  await axeCheck('sessions-2-375px');
  await page.setViewportSize({ width: 900, height: 800 });
  await page.click('#sessions-rows tr:nth-child(2) button');
  await page.waitForFunction(() => document.querySelectorAll('#sessions-rows tr').length === 2);
  const alive = [(await call('GET', '/v1/me', undefined, other.token)).status,
    (await call('GET', '/v1/me', undefined, third.token)).status].sort();
  check(JSON.stringify(alive) === '[200,401]', 'exactly one other session ended: ' + alive);
  await page.click('#sessions-end-others');
  await page.waitForFunction(() => document.querySelectorAll('#sessions-rows tr').length === 1);
  check(/Ended 1 other session/.test(await page.textContent('#sessions-note')), 'end others said');
  check((await call('GET', '/v1/me', undefined, other.token)).status === 401 &&
    (await call('GET', '/v1/me', undefined, third.token)).status === 401, 'other sessions ended');
  check(await page.isDisabled('#sessions-end-others'), 'nothing more to end');
  await axeCheck('sessions-3-alone');
  await shot('sessions-3-alone');

  // Account: new recovery codes (a wrong code first), then a new password.
  await page.click('#nav-list a[data-view="account"]');
  await visible('#rc-form');
  await axeCheck('account-1');
  await shot('account-1');
  await page.fill('#rc-code', '000000');
  await page.click('#rc-submit');
  await visible('#rc-error');
  check(/Wrong password or code/.test(await page.textContent('#rc-error')), 'wrong code explained');
  await axeCheck('account-2-refused');
  await page.fill('#rc-code', await alice.freshCode());
  await page.click('#rc-submit');
  await visible('#rc-result');
  check(await page.isHidden('#rc-error'), 'error cleared');
  const fresh = await page.$$eval('#rc-codes li', (l) => l.map((e) => e.textContent));
  check(fresh.length === 10 && !fresh.includes(codes[2]), 'ten new recovery codes');
  const [rdl] = await Promise.all([page.waitForEvent('download'), page.click('#rc-download')]);
  check(rdl.suggestedFilename() === 'tessera-recovery-codes.txt', 'codes download name');
  const rtext = fs.readFileSync(await rdl.path(), 'utf8');
  check(fresh.every((c) => rtext.includes(c)), 'downloaded codes');
  await axeCheck('account-3-codes');
  await shot('account-3-codes');
  let r2 = await call('POST', '/v1/login', { username: 'alice', password: alice.password, code: codes[2] });
  check(r2.status === 401, 'an old recovery code is dead: ' + r2.status);
  const newPassword = 'another long passphrase for alice';
  await page.fill('#pw-current', alice.password);
  await page.fill('#pw-new', newPassword);
  await page.fill('#pw-new2', newPassword + 'x');
  await page.fill('#pw-code', '123456');
  await page.click('#pw-submit');
  await visible('#pw-error');
  check(/differ/.test(await page.textContent('#pw-error')), 'mismatch caught on the page');
  await page.fill('#pw-new2', newPassword);
  await page.fill('#pw-code', await alice.freshCode());
  await page.click('#pw-submit');
  await visible('#login');
  check(/Password changed/.test(await page.textContent('#login-note')), 'password change said');
  check(await page.isHidden('#rc-result') && await page.isHidden('#nav'), 'nothing left of the session');
  await axeCheck('index-3-password-changed');
  await shot('index-3-password-changed');
  r2 = await call('POST', '/v1/login', { username: 'alice', password: alice.password, code: fresh[1] });
  check(r2.status === 401, 'the old password is refused: ' + r2.status);
  await page.fill('#login-username', 'alice');
  await page.fill('#login-password', newPassword);
  await page.fill('#login-code', fresh[0]);
  await page.click('#login-submit');
  await visible('#view-account');  // back where the user was
  check(await page.textContent('#who-name') === 'alice', 'signed in with the new password and a new recovery code');
  await axeCheck('index-4-account-again');
  r2 = await call('POST', '/v1/login', { username: 'alice', password: newPassword, code: fresh[0] });
  check(r2.status === 401, 'a recovery code works once: ' + r2.status);
  await page.click('#logout');
  await visible('#login');
  check(/Signed out/.test(await page.textContent('#login-note')) && await page.isHidden('#nav'),
    'signed out from the header');
  const au2 = await ok('GET', '/v1/audit?limit=1000', undefined, at);
  const acts2 = au2.events.filter((e) => e.actor === 'alice').map((e) => e.action + ':' + e.result);
  for (const a of ['cert.revoke:ok', 'session.end:ok', 'session.end_others:ok',
    'recovery.regenerate:denied', 'recovery.regenerate:ok', 'password.change:ok', 'recovery.use:ok'])
    check(acts2.includes(a), 'audit has ' + a);

  check(problems.length === 0, 'no console errors or CSP violations: ' + problems.join('; '));

  // SIGTERM: a clean stop (under ASan, also no leak report).
  server.kill('SIGTERM');
  const st = await waitFor(() => server.exitCode !== null || server.signalCode !== null,
    'tesserad to stop', 15000);
  check(st && server.exitCode === 0, 'tesserad exit ' + server.exitCode + ' ' +
    (server.signalCode || '') + ': ' + tail());
}

await runMain(main);
