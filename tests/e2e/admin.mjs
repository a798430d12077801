// Browser test of the admin console's users, targets, bindings, check and
// certificates views (web/ui/admin.js), end to end: a real tesserad, Debian's
// headless Chromium driven by playwright-core, real oathtool codes.
//
// The admin's day: sign in; add a user and read the enrollment link from
// the page; the user enrolls with it in a second browser context; the
// admin adds a target (its sshd snippet shown) and deletes another after
// a confirmation (a target a role matches is refused with the server's
// reason), grants a 1-hour binding and one "until" a picked date and time
// (an expired binding is shown as such), and Check says allowed with the
// reason; the engineer's dashboard shows the access and the engineer gets
// a certificate for a real key, which a real sshd (configured from GET
// /v1/ca, the target's snippet and GET /v1/krl) accepts; the admin finds
// it on the Certificates view's older page (server-side filters) and
// revokes it, and with the KRL served next the same ssh is refused; the
// users list shows each last login;
// the admin resets the user after a confirmation that says
// what it does, and the engineer's session is gone; groups are edited,
// the user disabled and enabled, a binding and a user deleted.  A user
// with the lock 100 wrong logins leave (written into the stopped server's
// store: the throttle before it takes hours) is listed as locked; the
// admin unlocks them, and the Audit view shows user.unlock.  An admin with
// users:read but not users:write sees no user editor, and a forged
// request from that admin's page is refused.  axe-core runs on each state
// (serious or critical violations fail) and each view must fit 375 px.
// The pages' JavaScript and CSS, as served, stay under 150 KB in total.

import fs from 'node:fs';
import path from 'node:path';

import {
  log, check, waitFor, run, tmp, Account, ok, enrollApi, launchBrowser,
  axeChecker, runMain, watchPage, shooter, startWithAdmin, Sshd, LOGIN, call,
  restartServer, lockUserOffline,
} from './harness.mjs';

async function main() {
  // Set up through the API: the admin, a role (roles are not this test's
  // views) and a helpdesk admin who may read users but not change them.
  const started = await startWithAdmin();
  const { base, admin, at } = started;
  let { server } = started;
  await ok('PUT', '/v1/roles/web', { rules: [{ targets: ['lab/web'],
    logins: [LOGIN] }], max_ttl: 3600 }, at);
  await ok('PUT', '/v1/roles/helpdesk', { rules: [],
    admin: ['users:read', 'bindings:read'] }, at);
  const hu = await ok('POST', '/v1/users', { username: 'helen', groups: [] }, at, 201);
  await ok('POST', '/v1/bindings', { role: 'helpdesk', subject: 'user:helen' }, at, 201);
  const helen = new Account('helen', 'helen has a long passphrase');
  await enrollApi(hu.enroll_token, helen);
  // A binding that expires in 2 s: the list shows it as expired.
  await ok('POST', '/v1/bindings', { role: 'web', subject: 'group:temps',
    expires_at: Math.floor(Date.now() / 1000) + 2 }, at, 201);

  // Every script and style sheet the pages load, as served: under 150 KB
  // uncompressed in total (issue 18).
  const assets = new Set();
  for (const pg of ['/', '/enroll', '/device'])
    for (const m of (await call('GET', pg)).raw.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g))
      assets.add(m[1]);
  let total = 0;
  for (const a of assets) {
    const r = await call('GET', a);
    check(r.status === 200, a + ' served');
    total += r.bytes.length;
  }
  check(assets.size >= 5 && total > 0 && total < 150 * 1024,
    `JavaScript and CSS: ${total} bytes in ${[...assets].join(' ')}`);
  log(`JavaScript and CSS served: ${total} bytes in ${assets.size} files`);

  // The admin's browser, and a second one (its own cookies) for bob and
  // then helen.
  const problems = [];
  async function newPage(ctx) {
    const p = ctx.pages()[0] || await ctx.newPage();
    problems.push(watchPage(p));
    p.axe = axeChecker(p);
    p.shot = shooter(p);
    return p;
  }
  const page = await newPage(await launchBrowser());
  const visible = (p, sel) => p.waitForSelector(sel, { state: 'visible', timeout: 15000 });
  // Each state: axe at 900 px, then 375 px without sideways scrolling.
  async function states(p, name) {
    await p.axe(name);
    await p.shot(name);
    await p.setViewportSize({ width: 375, height: 800 });
    check(await p.evaluate(() => document.documentElement.scrollWidth) <= 375,
      name + ' fits 375 px');
    await p.shot(name + '-375px');
    await p.setViewportSize({ width: 900, height: 800 });
  }
  async function signIn(p, acct) {
    await p.goto(base + '/');
    await visible(p, '#login');
    await p.fill('#login-username', acct.name);
    await p.fill('#login-password', acct.password);
    await p.fill('#login-code', await acct.freshCode());
    await p.click('#login-submit');
    await visible(p, '#me');
  }
  async function go(p, view, section) {
    await p.click(`#nav-list a[data-view="${view}"]`);
    await visible(p, '#' + section);
  }
  const rowsOf = (p, id) => p.$$eval(`#${id} tr`, (l) => l.map((e) => e.textContent));

  // ---- the admin adds a user ----
  await signIn(page, admin);
  const nav = await page.$$eval('#nav-list a', (l) => l.map((a) => a.getAttribute('data-view')));
  for (const v of ['users', 'targets', 'bindings', 'check', 'all-certs'])
    check(nav.includes(v), 'the full admin sees ' + v + ': ' + nav);
  await go(page, 'users', 'view-users');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).length >= 2, 'the user list');
  let rows = await rowsOf(page, 'users-rows');
  check(rows.some((r) => r.includes('helen') && r.includes('enrolled')), 'helen enrolled: ' + rows);
  await states(page, 'users-1-list');
  await page.fill('#user-add-name', 'bob');
  await page.fill('#user-add-groups', 'ops');
  await page.click('#user-add-submit');
  await visible(page, '#user-link');
  const link = await page.inputValue('#user-link-url');
  check(/\/enroll#token=[0-9a-f]{64}$/.test(link), 'enrollment link on the page: ' + link);
  await page.waitForFunction(() => {
    const i = document.getElementById('user-link-qr');
    return !i.hidden && i.complete && i.naturalWidth > 0;
  }, null, { timeout: 10000 });
  check((await page.getAttribute('#user-link-qr', 'src')).startsWith('data:image/svg+xml;base64,'),
    'the link\'s QR code shown as a data: image');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('pending')), 'bob listed as pending');
  await page.fill('#users-search', 'bo');
  rows = await rowsOf(page, 'users-rows');
  check(rows.length === 1 && rows[0].includes('bob'), 'search finds bob alone: ' + rows);
  check(rows[0].includes('never'), 'bob has never logged in: ' + rows);
  await states(page, 'users-2-link');

  // ---- bob enrolls in a second browser context ----
  const bob = new Account('bob', 'bob picks a long passphrase');
  const eng = await newPage(await launchBrowser('chromium-profile-2'));
  await eng.goto(link.replace(/^https:\/\/[^/]*/, base));
  await visible(eng, '#enroll-password');
  await eng.fill('#enroll-pw1', bob.password);
  await eng.fill('#enroll-pw2', bob.password);
  await eng.click('#enroll-pw-submit');
  await visible(eng, '#enroll-totp');
  bob.secret = (await eng.textContent('#enroll-secret')).replace(/\s+/g, '');
  await eng.fill('#enroll-code', bob.nextCode());
  await eng.click('#enroll-code-submit');
  await visible(eng, '#enroll-done');
  check((await ok('GET', '/v1/users/bob', undefined, at)).last_login === null,
    'no last login before bob signs in');
  const signedIn = Date.now();
  await signIn(eng, bob);
  const bobNow = await ok('GET', '/v1/users/bob', undefined, at);
  check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(bobNow.last_login) &&
    Math.abs(Date.parse(bobNow.last_login) - signedIn) < 60000,
  'bob\'s sign-in is his last login: ' + bobNow.last_login);
  check(await eng.isVisible('#me-noaccess'), 'bob has no access yet');
  const engNav = await eng.$$eval('#nav-list a', (l) => l.map((a) => a.getAttribute('data-view')));
  check(!engNav.includes('users') && !engNav.includes('all-certs'), 'no admin views for bob: ' + engNav);
  await page.fill('#users-search', '');
  await page.click('#nav-list a[data-view="overview"]');
  await go(page, 'users', 'view-users');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('enrolled') && !r.includes('never')),
  'bob listed as enrolled, with a last login');

  // ---- a target ----
  await go(page, 'targets', 'view-targets');
  await page.fill('#target-name', 'lab/web');
  await page.fill('#target-labels', 'env lab');
  await page.click('#target-save');
  await visible(page, '#target-form-error');
  check(/key=value/.test(await page.textContent('#target-form-error')), 'bad labels explained');
  await page.fill('#target-labels', 'env=lab, tier=web');
  await page.fill('#target-hosts', 'web.lab.example');
  await page.click('#target-save');
  await waitFor(async () => (await rowsOf(page, 'targets-rows')).some((r) =>
    r.includes('lab/web') && r.includes('env=lab') && r.includes('web.lab.example')),
  'lab/web listed with labels and hosts');
  await page.click('button[aria-label="sshd lab/web"]');
  await visible(page, '#target-sshd');
  check(/TrustedUserCAKeys/.test(await page.textContent('#target-sshd-text')), 'sshd snippet shown');
  await states(page, 'targets-1-sshd');

  // ---- deleting targets: a used one is refused with the reason ----
  // Each confirm() is answered by the next of answers (true: OK).
  const dialogs = [], answers = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    return answers.shift() ? d.accept() : d.dismiss();
  });
  const answer = (...yes) => answers.push(...yes);
  await page.fill('#target-name', 'lab/old');
  await page.click('#target-save');
  await waitFor(async () => (await rowsOf(page, 'targets-rows')).some((r) =>
    r.includes('lab/old')), 'lab/old listed');
  answer(false);
  await page.click('button[aria-label="Delete lab/old"]');
  await waitFor(() => dialogs.length === 1, 'the confirmation');
  check(/Delete target lab\/old\?/.test(dialogs[0]), 'delete asks first: ' + dialogs[0]);
  check((await rowsOf(page, 'targets-rows')).some((r) => r.includes('lab/old')),
    'declined: lab/old kept');
  answer(true, false);
  await page.click('button[aria-label="Delete lab/web"]');
  await waitFor(async () => /lab\/web was not deleted: target lab\/web is matched by role web rule 0/
    .test(await page.textContent('#targets-error')), 'the refusal explained with the server\'s reason');
  await waitFor(() => dialogs.length === 3, 'the second confirmation');
  check(/matched by role web rule 0.*\. Delete lab\/web anyway\?$/.test(dialogs[2]),
    'the second confirmation quotes the reason: ' + dialogs[2]);
  check((await rowsOf(page, 'targets-rows')).some((r) => r.includes('lab/web')),
    'lab/web kept');
  await states(page, 'targets-2-delete-refused');
  answer(true);
  await page.click('button[aria-label="Delete lab/old"]');
  await waitFor(async () => /lab\/old was deleted/.test(await page.textContent('#targets-note')) &&
    !(await rowsOf(page, 'targets-rows')).some((r) => r.includes('lab/old')), 'lab/old deleted');
  check(await page.isHidden('#targets-error'), 'the earlier refusal cleared');
  const tl = (await ok('GET', '/v1/targets', undefined, at)).targets.map((t) => t.name);
  check(!tl.includes('lab/old') && tl.includes('lab/web'), 'the server has lab/web, not lab/old: ' + tl);

  // ---- a 1-hour binding with the picker (the view opened by its URL) ----
  await page.goto(base + '/#/bindings');
  await visible(page, '#view-bindings');
  await waitFor(async () => (await rowsOf(page, 'bindings-rows')).some((r) =>
    r.includes('group:temps')), 'bindings listed');
  await page.fill('#grant-role', 'web');
  await page.fill('#grant-subject', 'user:bob');
  await page.check('#grant-exp-for');
  await page.fill('#grant-hours', '1');
  const t0 = Math.floor(Date.now() / 1000);
  await page.click('#grant-submit');
  await waitFor(async () => (await rowsOf(page, 'bindings-rows')).some((r) =>
    r.includes('user:bob')), 'bob\'s binding listed');
  const bl = await ok('GET', '/v1/bindings', undefined, at);
  const bb = bl.bindings.find((b) => b.subject === 'user:bob');
  check(bb && bb.expires_at >= t0 + 3600 - 5 && bb.expires_at <= t0 + 3600 + 60,
    'the binding lasts one hour: ' + JSON.stringify(bb));
  await waitFor(async () => {
    await page.click('#nav-list a[data-view="overview"]');
    await go(page, 'bindings', 'view-bindings');
    return (await rowsOf(page, 'bindings-rows')).some((r) =>
      r.includes('group:temps') && r.includes('expired'));
  }, 'the short binding shown as expired', 10000, 500);
  await page.fill('#bindings-filter', 'user:bob');
  rows = await rowsOf(page, 'bindings-rows');
  check(rows.length === 1 && !rows[0].includes('expired'), 'filter by subject: ' + rows);
  await states(page, 'bindings-1-granted');

  // ---- "until date": a past one is refused, a future one kept exactly ----
  await page.fill('#grant-subject', 'group:contractors');
  await page.check('#grant-exp-until');
  await page.fill('#grant-until', '2001-02-03T04:05');
  await page.click('#grant-submit');
  await waitFor(async () => /a date in the future/.test(await page.textContent('#grant-error')),
    'a past date refused');
  const until = new Date(Date.now() + 3 * 86400 * 1000);
  const local = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' +
    String(d.getDate()).padStart(2, '0') + 'T10:30';
  await page.fill('#grant-until', local(until));
  await page.click('#grant-submit');
  const want = await page.evaluate((v) => {
    const t = new Date(v).getTime() / 1000;
    return { t, text: new Date(t * 1000).toLocaleString() };
  }, local(until));
  await page.fill('#bindings-filter', 'group:contractors');
  await waitFor(async () => (await rowsOf(page, 'bindings-rows')).some((r) =>
    r.includes(want.text) && !r.includes('expired')), 'the binding listed until ' + want.text);
  const bu2 = (await ok('GET', '/v1/bindings', undefined, at)).bindings
    .find((b) => b.subject === 'group:contractors');
  check(bu2 && bu2.expires_at === want.t, 'the binding ends at the picked time: ' +
    JSON.stringify(bu2) + ' want ' + want.t);
  await states(page, 'bindings-2-until');
  await page.check('#grant-exp-for');

  // ---- check ----
  await go(page, 'check', 'view-check');
  await page.fill('#check-user', 'bob');
  await page.fill('#check-target', 'lab/web');
  await page.fill('#check-login', LOGIN);
  await page.click('#check-submit');
  await visible(page, '#check-result');
  check(await page.textContent('#check-verdict') === 'Allowed', 'check says allowed');
  const reason = await page.textContent('#check-reason');
  check(/web/.test(reason), 'the reason names the role: ' + reason);
  await states(page, 'check-1-allowed');
  await page.fill('#check-login', 'daemon');
  await page.click('#check-submit');
  await waitFor(async () => await page.textContent('#check-verdict') === 'Not allowed',
    'check says not allowed for daemon');

  // ---- the engineer sees the access and gets a certificate ----
  await eng.reload();
  await visible(eng, '#me-access');
  rows = await rowsOf(eng, 'me-access-rows');
  check(rows.length === 1 && rows[0].includes('lab/web') && rows[0].includes(LOGIN),
    'bob\'s dashboard shows the access: ' + rows);
  const key = path.join(tmp, 'bob_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  await eng.click('#nav-list a[data-view="cert"]');
  await visible(eng, '#cert-form');
  await eng.fill('#cert-key', fs.readFileSync(key + '.pub', 'utf8').trim());
  await eng.click('#cert-submit');
  await visible(eng, '#cert-result');
  fs.writeFileSync(key + '-cert.pub', (await eng.inputValue('#cert-text')).trim() + '\n');
  check(new RegExp(`Principals:\\s*\\n\\s*${LOGIN}@lab/web\\s*\\n`).test(
    run('ssh-keygen', ['-L', '-f', key + '-cert.pub'])), 'ssh-keygen -L reads the browser\'s certificate');

  // ---- a real sshd lets that key in ----
  const sshd = await Sshd.start('lab/web', at);
  let ssh = sshd.ssh(key);
  check(ssh.code === 0, 'sshd accepts the browser\'s certificate: ' + ssh.stderr + sshd.tail());

  // ---- bob takes 50 more from his page (another key): the list pages ----
  const serial = Number(run('ssh-keygen', ['-L', '-f', key + '-cert.pub'])
    .match(/Serial: (\d+)/)[1]);
  const other = path.join(tmp, 'bob2_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
  const issued = await eng.evaluate(async (a) => {
    const me = await (await fetch('/v1/me', { credentials: 'same-origin' })).json();
    let n = 0;
    for (let i = 0; i < 50; i++) {
      const r = await fetch('/v1/certs', { method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: JSON.stringify({ public_key: a.pub, target: 'lab/web', login: a.login }) });
      if (r.status === 201) n++;
    }
    return n;
  }, { pub: fs.readFileSync(other + '.pub', 'utf8').trim(), login: LOGIN });
  check(issued === 50, '50 more certificates for bob: ' + issued);

  // ---- the admin finds the browser's one on the older page and revokes it ----
  const certRows = async (n, what) => waitFor(async () => {
    const r = await rowsOf(page, 'allcerts-rows');
    return r.length === n && what(r) ? r : null;
  }, 'certificate rows: ' + n);
  await go(page, 'all-certs', 'view-allcerts');
  await certRows(50, (r) => r.every((x) => x.includes('bob') && x.includes('valid')));
  check(await page.isEnabled('#allcerts-older'), 'older pages offered');
  await page.fill('#allcerts-user', 'bob');
  await page.selectOption('#allcerts-state', 'valid');
  await certRows(50, (r) => r.every((x) => x.includes('bob') && x.includes(LOGIN + '@lab/web')));
  await page.click('#allcerts-older');
  rows = await certRows(1, (r) => r[0].includes(String(serial)));
  check(/Page 2/.test(await page.textContent('#allcerts-page')) &&
    await page.isEnabled('#allcerts-newer') && !await page.isEnabled('#allcerts-older'),
  'the oldest page, second of two: ' + rows);
  await states(page, 'certs-1-older-page');
  await page.click(`button[aria-label="Revoke certificate ${serial}"]`);
  await waitFor(async () => /revoked/.test(await page.textContent('#allcerts-note')), 'revoked note');
  await waitFor(async () => await page.isVisible('#allcerts-empty'), 'no valid certificate left on that page');
  const bc = await ok('GET', '/v1/certs?user=bob&state=revoked', undefined, at);
  check(bc.certificates.length === 1 && bc.certificates[0].serial === serial && bc.next === null,
    'the server has it revoked: ' + JSON.stringify(bc));
  await page.fill('#allcerts-target', 'lab/web');
  await page.selectOption('#allcerts-state', 'revoked');
  await certRows(1, (r) => r[0].includes(String(serial)) && r[0].includes('revoked'));
  await states(page, 'certs-2-revoked');
  await page.fill('#allcerts-target', 'lab//web');
  await page.click('#allcerts-apply');
  await waitFor(async () => /target: not a target name/.test(
    await page.textContent('#allcerts-error')), 'a bad target explained');
  await page.fill('#allcerts-target', '');

  // ---- the KRL served now makes sshd refuse the same key ----
  await waitFor(async () => {
    await sshd.refreshKrl();
    ssh = sshd.ssh(key);
    return ssh.code === 255 && /Permission denied/.test(ssh.stderr);
  }, 'sshd to refuse the revoked certificate', 20000, 250);
  check(/revoked/i.test(sshd.tail()), 'sshd says the key is revoked: ' + sshd.tail());
  await sshd.stop();

  // ---- reset bob, after a confirmation that says what it does ----
  await go(page, 'users', 'view-users');
  await page.click('button[aria-label="Edit bob"]');
  await visible(page, '#user-edit');
  await page.click('#user-reset');
  await visible(page, '#user-confirm');
  const warn = await page.textContent('#user-confirm-text');
  check(/session/.test(warn) && /revoked/.test(warn), 'the confirmation says what a reset does: ' + warn);
  await states(page, 'users-3-confirm-reset');
  await page.click('#user-confirm-yes');
  await waitFor(async () => /bob was reset/.test(await page.textContent('#users-note')), 'reset said');
  check(/\/enroll#token=[0-9a-f]{64}$/.test(await page.inputValue('#user-link-url')) &&
    await page.inputValue('#user-link-url') !== link, 'a new enrollment link for bob');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('pending')), 'bob pending again');
  await eng.reload();
  await visible(eng, '#login');
  check(await eng.isHidden('#nav'), 'bob\'s session ended with the reset');
  await page.fill('#user-edit-groups', 'ops, web');
  await page.click('#user-groups-save');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('ops, web')), 'bob\'s groups saved');
  await page.click('#user-toggle');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('disabled')), 'bob disabled');
  check(await page.textContent('#user-toggle') === 'Enable', 'the editor offers to enable');
  await page.click('#user-toggle');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('bob') && r.includes('pending')), 'bob enabled again');
  await page.click('#nav-list a[data-view="overview"]');
  check(await page.inputValue('#user-link-url') === '', 'the link is forgotten once the view is left');
  await go(page, 'bindings', 'view-bindings');
  await page.fill('#bindings-filter', 'group:temps');
  await page.click('button[aria-label="Delete web for group:temps"]');
  await waitFor(async () => (await rowsOf(page, 'bindings-rows')).length === 0, 'binding deleted');
  await go(page, 'users', 'view-users');
  await page.fill('#user-add-name', 'temp');
  await page.click('#user-add-submit');
  await visible(page, '#user-link');
  await waitFor(async () => await page.$('button[aria-label="Edit temp"]'), 'temp listed');
  await page.click('button[aria-label="Edit temp"]');
  await page.click('#user-delete');
  await visible(page, '#user-confirm');
  await page.click('#user-confirm-yes');
  await waitFor(async () => /temp was deleted/.test(await page.textContent('#users-note')) &&
    !(await rowsOf(page, 'users-rows')).some((r) => r.includes('temp')), 'temp deleted');

  // ---- unlock: helen locked as 100 wrong logins leave an account ----
  server = await restartServer(server, () => lockUserOffline('helen'));
  const locked = await call('POST', '/v1/login', { username: 'helen',
    password: helen.password, code: '000000' });
  check(locked.status === 429, 'the server refuses locked helen: ' + locked.status);
  await page.reload();
  await visible(page, '#view-users');
  await waitFor(async () => (await rowsOf(page, 'users-rows')).some((r) =>
    r.includes('helen') && r.includes('locked')), 'helen listed as locked');
  await page.click('button[aria-label="Edit helen"]');
  await visible(page, '#user-unlock');
  await states(page, 'users-5-locked');
  await page.click('#user-unlock');
  await waitFor(async () => /helen is unlocked/.test(await page.textContent('#users-note')) &&
    (await rowsOf(page, 'users-rows')).some((r) => r.includes('helen') && r.includes('enrolled')),
  'helen unlocked and listed as enrolled');
  check(await page.isHidden('#user-unlock'), 'no unlock offered once unlocked');
  await go(page, 'audit', 'view-audit');
  await page.fill('#audit-action', 'user.unlock');
  await page.click('#audit-apply');
  await waitFor(async () => {
    const r = await rowsOf(page, 'audit-rows');
    return r.length === 1 && r[0].includes('admin') && r[0].includes('helen');
  }, 'the audit view shows the user.unlock');
  await states(page, 'audit-1-unlock');

  // ---- a helpdesk admin: no editor, and a forged change is refused ----
  const hp = eng;     // bob's session there ended with the reset
  await signIn(hp, helen);
  const hnav = await hp.$$eval('#nav-list a', (l) => l.map((a) => a.getAttribute('data-view')));
  check(hnav.includes('users') && !hnav.includes('targets'), 'helen sees users only: ' + hnav);
  await go(hp, 'users', 'view-users');
  await waitFor(async () => (await rowsOf(hp, 'users-rows')).length >= 3, 'helen\'s user list');
  check(await hp.isHidden('#user-add-box') && await hp.isHidden('#user-edit') &&
    (await hp.$$('#users-rows button')).length === 0, 'no user editor without users:write');
  await states(hp, 'users-4-readonly');
  const forged = await hp.evaluate(async () => {
    const me = await (await fetch('/v1/me', { credentials: 'same-origin' })).json();
    const r = await fetch('/v1/users/bob', { method: 'PATCH', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: JSON.stringify({ disabled: true }) });
    return { status: r.status, body: await r.json() };
  });
  check(forged.status === 403 && forged.body.error.code === 'forbidden',
    'the forged request is refused: ' + JSON.stringify(forged));
  const bu = await ok('GET', '/v1/users/bob', undefined, at);
  check(!bu.disabled, 'bob was not disabled by the forged request');

  const au = await ok('GET', '/v1/audit?limit=1000', undefined, at);
  const acts = au.events.filter((e) => e.actor === 'admin').map((e) => e.action);
  for (const a of ['user.create', 'target.put', 'binding.create', 'cert.revoke', 'user.reset'])
    check(acts.includes(a), 'audit has ' + a + ': ' + acts);
  check(problems.flat().length === 0, 'no console errors or CSP violations: ' + problems.flat().join('; '));

  log('the admin\'s day passed');
  server.kill('SIGTERM');
  await waitFor(() => server.exitCode !== null || server.signalCode !== null,
    'tesserad to stop', 15000);
  check(server.exitCode === 0, 'tesserad exit ' + server.exitCode);
}

await runMain(main, 'screenshots-admin');
