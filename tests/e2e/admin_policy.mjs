// Browser test of the admin console's Roles and Audit views, end to end:
// a real tesserad on 127.0.0.1 (harness.mjs), headless Chromium.
//
// Story: the admin signs in, creates a role with the structured editor
// (an invalid login first: the server's error appears next to that
// field), saves it and reads its raw JSON; a bound role is deleted
// after a second confirmation.  The audit page lists the
// events newest first; filters narrow them; Older and Newer page back
// and forth by keyset; follow mode shows an event made meanwhile without
// a reload; an event's detail; the chain verifies.  rita, an admin with
// roles:read and audit:read only, sees no role editor, and her forged
// PUT (bearer token, or the page's cookie without the CSRF token) is
// refused.  axe-core on every state (serious or critical fail); the
// views fit 375 px.

import {
  log, check, waitFor, Account, port, ok, call, startServer, enrollApi,
  launchBrowser, axeChecker, runMain, watchPage, shooter, startWithAdmin,
} from './harness.mjs';

async function main() {
  const { server, base, admin, at } = await startWithAdmin();
  await ok('PUT', '/v1/roles/reader', { rules: [],
    admin: ['roles:read', 'audit:read'] }, at);
  const nu = await ok('POST', '/v1/users', { username: 'rita' }, at, 201);
  await ok('POST', '/v1/bindings', { role: 'reader', subject: 'user:rita' }, at, 201);
  const rita = new Account('rita', 'a long passphrase for rita');
  const rt = await enrollApi(nu.enroll_token, rita);
  // Enough events for more than one page of 25.
  for (let i = 0; i < 30; i++)
    await ok('PUT', `/v1/targets/lab/n${i}`, { labels: { env: 'lab' } }, at);

  const ctx = await launchBrowser();
  const page = ctx.pages()[0] || await ctx.newPage();
  const problems = watchPage(page);
  const axeCheck = axeChecker(page);
  const shot = shooter(page);
  const visible = (sel) => page.waitForSelector(sel, { state: 'visible', timeout: 15000 });
  const state = async (name) => {
    await shot(name);
    await axeCheck(name);
  };
  const narrow = async (name) => {
    await page.setViewportSize({ width: 375, height: 800 });
    const wide = await page.evaluate(() => Array.from(document.querySelectorAll('main *'))
      .filter((e) => e.getBoundingClientRect().right > 375 && e.offsetParent !== null)
      .map((e) => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5));
    check(await page.evaluate(() => document.documentElement.scrollWidth) <= 375,
      name + ' fits 375 px: ' + wide.join(' '));
    await state(name + '-375px');
    await page.setViewportSize({ width: 900, height: 800 });
  };
  const signIn = async (acct) => {
    await page.goto(base + '/');
    await visible('#login');
    await page.fill('#login-username', acct.name);
    await page.fill('#login-password', acct.password);
    await page.fill('#login-code', await acct.freshCode());
    await page.click('#login-submit');
    await visible('#me');
  };

  // ---- roles: the structured editor ----
  await signIn(admin);
  await page.goto(base + '/#/roles');
  await visible('#view-roles');
  await page.waitForFunction(() => document.querySelectorAll('#roles-rows tr').length >= 1);
  await state('roles-1-list');
  await page.click('#role-new');
  await visible('#role-editor');
  await page.fill('#role-name', 'ops');
  await page.fill('#role-rules fieldset input[id$="-targets"]', 'lab/*');
  await page.fill('#role-rules fieldset input[id$="-logins"]', 'app, bad login!');
  await page.fill('#role-ttl', '8h');
  await page.check('#role-ext1');
  await page.fill('#role-source', '10.0.0.0/8');
  await state('roles-2-editor');
  await page.click('#role-save');
  const loginsErr = await visible('#role-rules fieldset p.field-error:not([hidden])');
  const errFor = await loginsErr.getAttribute('id');
  check(/-logins-error$/.test(errFor), 'the error is next to the logins field: ' + errFor);
  const errText = await loginsErr.textContent();
  check(/^Entry 2: /.test(errText) && !/rules\[/.test(errText),
    'the server\'s reason for the second login, without the path: ' + errText);
  check(await page.getAttribute('#role-rules fieldset input[id$="-logins"]', 'aria-invalid') === 'true',
    'the logins field is marked invalid');
  check(await page.evaluate(() => document.activeElement.id.endsWith('-logins')),
    'focus moves to the field in error');
  check((await call('GET', '/v1/roles/ops', undefined, at)).status === 404, 'nothing saved');
  await state('roles-3-field-error');
  await page.fill('#role-rules fieldset input[id$="-logins"]', 'app, deploy');
  await page.click('#role-add-rule');
  check(await page.locator('#role-rules fieldset').count() === 2, 'a second rule');
  await page.locator('#role-rules fieldset').nth(1).locator('input[id$="-labels"]').fill('env=lab');
  await page.locator('#role-rules fieldset').nth(1).locator('input[id$="-logins"]').fill('ro');
  await page.click('#role-save');
  await visible('#role-raw');
  const raw = JSON.parse(await page.inputValue('#role-raw-text'));
  check(raw.name === 'ops' && raw.rules.length === 2 &&
    raw.rules[0].logins.join() === 'app,deploy' && raw.rules[1].labels.env === 'lab' &&
    raw.max_ttl === 8 * 3600 && raw.extensions.includes('permit-agent-forwarding') &&
    raw.source_address[0] === '10.0.0.0/8', 'raw JSON view: ' + JSON.stringify(raw));
  const stored = await ok('GET', '/v1/roles/ops', undefined, at);
  check(stored.rules[0].targets[0] === 'lab/*', 'the server has the role');
  await page.waitForFunction(() => /ops/.test(document.getElementById('roles-rows').textContent));
  await state('roles-4-saved-json');
  await narrow('roles-4');

  // ---- audit ----
  const newest = (await ok('GET', '/v1/audit?order=newest&limit=1', undefined, at)).events[0].seq;
  await page.goto(base + '/#/audit');
  await visible('#view-audit');
  const seqs = () => page.$$eval('#audit-rows tr', (l) => l.map((tr) => Number(tr.cells[0].textContent)));
  await waitFor(async () => (await seqs()).length === 25, 'the first page');
  let s1 = await seqs();
  check(s1[0] === newest && s1.every((s, i) => i === 0 || s === s1[i - 1] - 1),
    'newest first: ' + s1.join(','));
  await state('audit-1-first-page');
  await page.click('#audit-older');
  await waitFor(async () => (await seqs())[0] === s1[24] - 1, 'the older page');
  const s2 = await seqs();
  check(s2.every((s, i) => i === 0 || s < s2[i - 1]), 'older page in order: ' + s2.join(','));
  check(await page.isEnabled('#audit-newer'), 'Newer enabled on page 2');
  await state('audit-2-older');
  await page.click('#audit-newer');
  await waitFor(async () => (await seqs())[0] === newest, 'back to the newest page');
  await page.fill('#audit-actor', 'admin');
  await page.fill('#audit-action', 'role.');
  await page.click('#audit-apply');
  await waitFor(async () => (await seqs()).length === 2, 'the filtered page');
  const acts = await page.$$eval('#audit-rows tr', (l) => l.map((tr) => tr.cells[2].textContent + ' ' + tr.cells[3].textContent));
  check(acts.every((a) => a === 'admin role.put'), 'filter narrows: ' + acts.join(','));
  await page.fill('#audit-object', 'lab/n3');
  await page.click('#audit-apply');
  await waitFor(async () => (await page.$$eval('#audit-rows tr', (l) => l.length)) === 0 &&
    await page.isVisible('#audit-empty'), 'no role event on lab/n3');
  await page.fill('#audit-action', 'target.');
  await page.click('#audit-apply');
  await waitFor(async () => (await seqs()).length === 1, 'the target event');
  await state('audit-3-filtered');
  await page.fill('#audit-actor', '');
  await page.fill('#audit-action', '');
  await page.fill('#audit-object', '');
  await page.click('#audit-apply');
  await waitFor(async () => (await seqs()).length === 25, 'unfiltered again');

  // Follow: a new event appears on top, the page never reloads.
  await page.evaluate(() => { window.notReloaded = true; });
  await page.check('#audit-follow');
  await waitFor(async () => /Following/.test(await page.textContent('#audit-follow-note')), 'follow on');
  await ok('PUT', '/v1/targets/lab/followed', { labels: { env: 'lab' } }, at);
  await waitFor(async () => (await page.textContent('#audit-rows tr:first-child')).includes('lab/followed'),
    'the followed event on top', 15000, 100);
  check(await page.evaluate(() => window.notReloaded === true), 'no reload');
  await state('audit-4-follow');
  await page.uncheck('#audit-follow');

  await page.click('#audit-rows tr:first-child button');
  await visible('#audit-detail');
  const detail = JSON.parse(await page.textContent('#audit-detail-text'));
  check(detail.object === 'lab/followed' && /^[0-9a-f]{64}$/.test(detail.hash), 'event detail');
  await state('audit-5-detail');
  await page.click('#audit-verify');
  await waitFor(async () => /Chain ok/.test(await page.textContent('#audit-verify-result')), 'verification');
  check(/Chain ok: \d+ events/.test(await page.textContent('#audit-verify-result')), 'chain ok');
  await state('audit-6-verified');
  await narrow('audit-6');
  // The admin's other five of the minute (the token is the same user's),
  // then the page says why the next is refused and when to come back.
  for (let i = 0; i < 5; i++) await ok('GET', '/v1/audit/verify', undefined, at);
  await page.click('#audit-verify');
  await waitFor(async () => /Not verified now: at most 6 verifications of the audit chain a minute\. Try again in \d+ s\./
    .test(await page.textContent('#audit-verify-result')), 'the refused verification explained');
  await state('audit-7-verify-refused');
  await page.fill('#audit-since', '2000-01-01T00:00');
  await page.fill('#audit-until', '2000-01-02T00:00');
  await page.click('#audit-apply');
  await waitFor(async () => page.isVisible('#audit-empty'), 'nothing in 2000');

  // Delete a bound role: refused (409) first, then with its bindings
  // once confirmed.
  await ok('PUT', '/v1/roles/gone', { rules: [{ targets: ['lab/*'], logins: ['x'] }] }, at);
  await ok('POST', '/v1/bindings', { role: 'gone', subject: 'user:rita' }, at, 201);
  const dialogs = [];
  const onDialog = (d) => { dialogs.push(d.message()); d.accept(); };
  page.on('dialog', onDialog);
  await page.goto(base + '/#/roles');
  await page.click('#roles-rows button[aria-label="Delete role gone"]');
  await waitFor(async () => /Role gone deleted/.test(await page.textContent('#roles-note')), 'role gone deleted');
  page.off('dialog', onDialog);
  check(dialogs.length === 2 && /bound/.test(dialogs[1]), 'asked again for a bound role: ' + dialogs);
  check((await call('GET', '/v1/roles/gone', undefined, at)).status === 404, 'role gone is gone');
  check(!(await ok('GET', '/v1/bindings', undefined, at)).bindings.some((b) => b.role === 'gone'),
    'its binding went with it');
  await page.click('#logout');
  await visible('#login');

  // ---- rita: roles:read, no editor; a forged PUT is refused ----
  await signIn(rita);
  const nav = await page.$$eval('#nav-list a', (l) => l.map((a) => a.getAttribute('data-view')));
  check(nav.includes('roles') && nav.includes('audit'), 'rita sees Roles and Audit: ' + nav);
  await page.goto(base + '/#/roles');
  await page.waitForFunction(() => /ops/.test(document.getElementById('roles-rows').textContent));
  check(await page.isHidden('#role-new') && await page.isHidden('#role-editor'), 'no role editor for rita');
  check(await page.locator('#roles-rows button', { hasText: 'Edit' }).count() === 0 &&
    await page.locator('#roles-rows button', { hasText: 'Delete' }).count() === 0, 'no edit or delete for rita');
  await state('roles-5-read-only');
  const forged = await call('PUT', '/v1/roles/ops', { rules: [{ targets: ['*'], logins: ['root'] }] }, rt);
  check(forged.status === 403, 'forged PUT with rita\'s token refused: ' + forged.status);
  const fromPage = await page.evaluate(async () => (await fetch('/v1/roles/ops', {
    method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ rules: [{ targets: ['*'], logins: ['root'] }] }) })).status);
  check(fromPage === 403, 'forged PUT from rita\'s page refused: ' + fromPage);
  check((await ok('GET', '/v1/roles/ops', undefined, at)).rules[0].logins.join() === 'app,deploy',
    'the role is unchanged');

  check(problems.length === 0, 'no console errors or CSP violations: ' + problems.join('; '));
  log('admin console: roles and audit checked');
  server.kill('SIGTERM');
  await waitFor(() => server.exitCode !== null || server.signalCode !== null, 'tesserad to stop', 15000);
}

await runMain(main, 'screenshots-admin-policy');
