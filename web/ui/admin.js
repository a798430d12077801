// Tessera's admin console, part one: users, targets, bindings, the access
// check and every user's certificates.  Built on window.TesseraUI (app.js);
// a view is listed only when GET /v1/me's permissions allow it, and the
// server still judges every request: a refusal is shown with its reason.
'use strict';

(function () {
  var T = window.TesseraUI;
  if (!T) return;
  var $ = T.$, show = T.show, setError = T.setError, node = T.node,
    cell = T.cell, api = T.api;

  // "users:read" is granted by "*", by itself, or by "users:write".
  function may(p) {
    var me = T.me();
    var have = (me && me.permissions) || [];
    return have.indexOf('*') >= 0 || have.indexOf(p) >= 0 ||
      (/:read$/.test(p) && have.indexOf(p.replace(/:read$/, ':write')) >= 0);
  }
  function allow(p) { return function () { return may(p); }; }

  function list(s) {
    return s.split(',').map(function (x) { return x.trim(); })
      .filter(function (x) { return x; });
  }

  // A failed call: the session ended, or the server's reason in errId.
  function failed(r, errId, want) {
    if (r.status === want) return false;
    if (!T.expired(r)) setError(errId, T.message(r));
    return true;
  }

  function button(tr, label, name, fn, cls) {
    var td = cell(tr, '');
    var b = node('button', label, 'small ' + (cls || 'secondary'));
    b.type = 'button';
    b.setAttribute('aria-label', label + ' ' + name);
    b.addEventListener('click', fn);
    td.appendChild(b);
    return b;
  }

  // A one-click action of view v: its note says text, then reload().
  function act(v, method, path, want, text, reload) {
    setError(v + '-error', '');
    api(method, path).then(function (r) {
      if (failed(r, v + '-error', want)) return;
      T.note(v + '-note', text);
      reload();
    });
  }

  function tbody(id) {
    var b = $(id);
    T.clear(b);
    return b;
  }

  // ---- users ----

  var users = [];
  var editing = null;   // the user in the editor
  var pending = null;   // the action waiting for confirmation

  function userState(u) {
    if (u.disabled) return 'disabled';
    if (u.locked) return 'locked';
    return u.state === 'active' ? 'enrolled' : 'pending';
  }

  function renderUsers() {
    var q = $('users-search').value.trim().toLowerCase();
    var rows = tbody('users-rows');
    users.filter(function (u) {
      return !q || u.username.indexOf(q) >= 0 ||
        u.groups.some(function (g) { return g.toLowerCase().indexOf(q) >= 0; });
    }).forEach(function (u) {
      var tr = rows.appendChild(document.createElement('tr'));
      cell(tr, u.username, 'mono');
      cell(tr, u.groups.join(', ') || '—', 'mono');
      cell(tr, userState(u), 'state-' + userState(u));
      cell(tr, u.last_login ? T.when(Date.parse(u.last_login) / 1000) : 'never');
      cell(tr, T.when(u.created));
      if (may('users:write'))
        button(tr, 'Edit', u.username, function () { edit(u); });
      else
        cell(tr, '');
    });
  }

  function loadUsers() {
    return api('GET', '/v1/users').then(function (r) {
      if (failed(r, 'users-error', 200)) return;
      setError('users-error', '');
      users = r.body.users || [];
      renderUsers();
      if (editing) {
        var u = users.filter(function (x) { return x.username === editing.username; })[0];
        if (u) fillEditor(u); else show('user-edit', false);
      }
    });
  }

  function fillEditor(u) {
    editing = u;
    $('user-edit-name').textContent = u.username;
    $('user-edit-groups').value = u.groups.join(', ');
    $('user-toggle').textContent = u.disabled ? 'Enable' : 'Disable';
    show('user-unlock', !!u.locked);
  }

  function edit(u) {
    fillEditor(u);
    show('user-confirm', false);
    show('user-edit', true);
    $('user-edit-title').focus();
  }

  function showLink(b) {
    $('user-link-name').textContent = b.username;
    $('user-link-url').value = b.enroll_url;
    $('user-link-expires').textContent = T.when(b.expires_at);
    T.note('user-link-copied', '');
    var img = $('user-link-qr');
    if (b.enroll_qr_svg) img.src = 'data:image/svg+xml;base64,' + btoa(b.enroll_qr_svg);
    img.hidden = !b.enroll_qr_svg;
    show('user-link', true);
    $('user-link-title').focus();
  }

  function userCall(method, path, body, done) {
    setError('users-error', '');
    T.note('users-note', '');
    api(method, path, body).then(function (r) {
      if (failed(r, 'users-error', method === 'DELETE' ? 204 : 200)) return;
      done(r.body);
      loadUsers();
    });
  }

  function confirmThen(text, fn) {
    pending = fn;
    $('user-confirm-text').textContent = text;
    show('user-confirm', true);
    $('user-confirm-text').focus();
  }

  // The link holds a one-time token: it is gone once the users view is
  // left or the admin signs out, like every code that is shown once.
  function forgetLink() {
    $('user-link-url').value = '';
    $('user-link-qr').removeAttribute('src');
    show('user-link', false);
  }

  function userEvents() {
    new MutationObserver(function () {
      if ($('view-users').hidden) forgetLink();
    }).observe($('view-users'), { attributes: true, attributeFilter: ['hidden'] });
    $('users-search').addEventListener('input', renderUsers);
    $('user-add-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('user-add-error', '');
      var name = $('user-add-name').value.trim();
      api('POST', '/v1/users', { username: name,
        groups: list($('user-add-groups').value) }).then(function (r) {
        if (failed(r, 'user-add-error', 201)) return;
        $('user-add-name').value = '';
        $('user-add-groups').value = '';
        showLink(r.body);
        loadUsers();
      });
    });
    $('user-link-copy').addEventListener('click', function () {
      T.copyText($('user-link-url').value, 'user-link-copied');
    });
    $('user-groups-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var n = editing.username;
      userCall('PATCH', '/v1/users/' + n, { groups: list($('user-edit-groups').value) },
        function () { T.note('users-note', 'Groups of ' + n + ' saved.'); });
    });
    $('user-toggle').addEventListener('click', function () {
      var n = editing.username, off = !editing.disabled;
      userCall('PATCH', '/v1/users/' + n, { disabled: off }, function () {
        T.note('users-note', off ? n + ' is disabled: their sessions ended and ' +
          'their certificates are revoked.' : n + ' is enabled.');
      });
    });
    $('user-unlock').addEventListener('click', function () {
      var n = editing.username;
      userCall('POST', '/v1/users/' + n + '/unlock', undefined, function () {
        T.note('users-note', n + ' is unlocked: they may sign in again.');
      });
    });
    $('user-reset').addEventListener('click', function () {
      var n = editing.username;
      confirmThen('Reset ' + n + '? Their password and authenticator are ' +
        'dropped, every session of theirs ends and their certificates are ' +
        'revoked; they enroll again with a new link.', function () {
        userCall('POST', '/v1/users/' + n + '/reset', undefined, function (b) {
          T.note('users-note', n + ' was reset: sessions ended, ' +
            b.revoked_certificates + ' certificate(s) revoked.');
          showLink(b);
        });
      });
    });
    $('user-delete').addEventListener('click', function () {
      var n = editing.username;
      confirmThen('Delete ' + n + '? Their certificates are revoked and ' +
        'their own bindings deleted.', function () {
        userCall('DELETE', '/v1/users/' + n, undefined, function () {
          show('user-edit', false);
          editing = null;
          T.note('users-note', n + ' was deleted.');
        });
      });
    });
    $('user-confirm-yes').addEventListener('click', function () {
      var fn = pending;
      pending = null;
      show('user-confirm', false);
      if (fn) fn();
    });
    $('user-confirm-no').addEventListener('click', function () {
      pending = null;
      show('user-confirm', false);
      $('user-edit-title').focus();
    });
  }

  function showUsers() {
    var w = may('users:write');
    show('user-add-box', w);
    if (!w) show('user-edit', false);
    loadUsers();
  }

  // ---- targets ----

  function labelText(l) {
    return Object.keys(l || {}).map(function (k) { return k + '=' + l[k]; }).join(', ');
  }

  function loadTargets() {
    api('GET', '/v1/targets').then(function (r) {
      if (failed(r, 'targets-error', 200)) return;
      setError('targets-error', '');
      var rows = tbody('targets-rows');
      var w = may('targets:write');
      (r.body.targets || []).forEach(function (t) {
        var tr = rows.appendChild(document.createElement('tr'));
        cell(tr, t.name, 'mono');
        cell(tr, labelText(t.labels) || '—', 'mono');
        cell(tr, (t.hosts || []).join(', ') || '—', 'mono');
        cell(tr, t.port);
        cell(tr, t.gateway || '—', 'mono');
        var td = button(tr, 'sshd', t.name, function () { sshd(t.name); }).parentNode;
        if (!w) return;
        [['Edit', function () { editTarget(t); }, 'secondary'],
          ['Delete', function () { deleteTarget(t.name, false); }, 'danger']].forEach(function (a) {
          var b = node('button', a[0], 'small ' + a[2]);
          b.type = 'button';
          b.setAttribute('aria-label', a[0] + ' ' + t.name);
          b.addEventListener('click', a[1]);
          td.appendChild(document.createTextNode(' '));
          td.appendChild(b);
        });
      });
    });
  }

  function sshd(name) {
    // Plain text, not JSON: fetched here rather than through api().
    fetch('/v1/targets/' + name + '/sshd', { credentials: 'same-origin',
      cache: 'no-store' }).then(function (res) {
      return res.text().then(function (text) { return { status: res.status, text: text }; });
    }, function () { return { status: 0 }; }).then(function (r) {
      if (r.status !== 200) {
        setError('targets-error', r.status === 0 ? T.message(r) :
          'The sshd snippet of ' + name + ' was refused (' + r.status + ').');
        return;
      }
      $('target-sshd-name').textContent = name;
      $('target-sshd-text').textContent = r.text;
      T.note('target-sshd-copied', '');
      show('target-sshd', true);
      $('target-sshd-title').focus();
    });
  }

  function editTarget(t) {
    $('target-name').value = t.name;
    $('target-labels').value = labelText(t.labels);
    $('target-hosts').value = (t.hosts || []).join(', ');
    $('target-port').value = t.port || 22;
    $('target-gateway').value = t.gateway || '';
    $('target-name').focus();
  }

  // Delete after a confirmation.  A target a role still matches is
  // refused (409) with the server's reason, shown; deleting it anyway
  // takes a second confirmation that quotes that reason.
  function deleteTarget(name, force) {
    if (!force && !window.confirm('Delete target ' + name + '?')) return;
    setError('targets-error', '');
    T.note('targets-note', '');
    api('DELETE', '/v1/targets/' + name + (force ? '?force=true' : '')).then(function (r) {
      if (r.status === 409 && !force) {
        setError('targets-error', name + ' was not deleted: ' + T.message(r));
        if (window.confirm(T.message(r) + '. Delete ' + name + ' anyway?'))
          deleteTarget(name, true);
        return;
      }
      if (failed(r, 'targets-error', 204)) return;
      T.note('targets-note', name + ' was deleted.');
      loadTargets();
    });
  }

  function targetEvents() {
    $('target-sshd-copy').addEventListener('click', function () {
      T.copyText($('target-sshd-text').textContent, 'target-sshd-copied');
    });
    $('target-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('target-form-error', '');
      var labels = {}, bad = null;
      list($('target-labels').value).forEach(function (kv) {
        var i = kv.indexOf('=');
        if (i <= 0) bad = kv;
        else labels[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
      });
      if (bad) {
        setError('target-form-error', 'Labels: "' + bad + '" is not key=value.');
        return;
      }
      var name = $('target-name').value.trim();
      api('PUT', '/v1/targets/' + name, { labels: labels,
        hosts: list($('target-hosts').value),
        port: parseInt($('target-port').value, 10) || 22,
        gateway: $('target-gateway').value.trim() || null }).then(function (r) {
        if (failed(r, 'target-form-error', 200)) return;
        T.note('targets-note', name + ' was saved.');
        $('target-form').reset();
        loadTargets();
      });
    });
  }

  function showTargets() {
    show('target-form', may('targets:write'));
    show('target-form-title', may('targets:write'));
    loadTargets();
  }

  // ---- bindings ----

  var bindings = [];

  function renderBindings() {
    var q = $('bindings-filter').value.trim();
    var rows = tbody('bindings-rows');
    var now = Date.now() / 1000;
    bindings.filter(function (b) {
      return !q || b.role === q || b.subject === q;
    }).forEach(function (b) {
      var tr = rows.appendChild(document.createElement('tr'));
      cell(tr, b.role, 'mono');
      cell(tr, b.subject, 'mono');
      if (b.expires_at === null) cell(tr, 'never');
      else if (b.expires_at <= now) cell(tr, 'expired ' + T.when(b.expires_at), 'state-expired');
      else cell(tr, T.when(b.expires_at));
      if (may('bindings:write'))
        button(tr, 'Delete', b.role + ' for ' + b.subject, function () {
          act('bindings', 'DELETE', '/v1/bindings/' + b.id, 204, 'Binding of ' +
            b.role + ' to ' + b.subject + ' deleted.', loadBindings);
        }, 'danger');
      else
        cell(tr, '');
    });
  }

  function loadBindings() {
    api('GET', '/v1/bindings').then(function (r) {
      if (failed(r, 'bindings-error', 200)) return;
      setError('bindings-error', '');
      bindings = r.body.bindings || [];
      renderBindings();
    });
  }

  // The picker's expiry as a Unix time, null for none; undefined when bad.
  function expiry() {
    var how = document.querySelector('input[name="grant-exp"]:checked').value;
    if (how === 'never') return null;
    if (how === 'for') {
      var h = parseInt($('grant-hours').value, 10);
      if (!(h > 0)) return undefined;
      return Math.floor(Date.now() / 1000) + h * 3600;
    }
    var t = Date.parse($('grant-until').value);
    return t > Date.now() ? Math.floor(t / 1000) : undefined;
  }

  function bindingEvents() {
    $('bindings-filter').addEventListener('input', renderBindings);
    $('grant-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('grant-error', '');
      var exp = expiry();
      if (exp === undefined) {
        setError('grant-error', 'Expiry: give a number of hours, or a date in the future.');
        return;
      }
      var role = $('grant-role').value.trim(), subj = $('grant-subject').value.trim();
      api('POST', '/v1/bindings', { role: role, subject: subj, expires_at: exp })
        .then(function (r) {
          if (failed(r, 'grant-error', 201)) return;
          T.note('bindings-note', role + ' granted to ' + subj +
            (exp ? ' until ' + T.when(exp) : ' without expiry') + '.');
          loadBindings();
        });
    });
  }

  function showBindings() {
    show('grant-form', may('bindings:write'));
    show('grant-title', may('bindings:write'));
    if (may('roles:read'))
      api('GET', '/v1/roles').then(function (r) {
        if (r.status !== 200) return;
        var dl = tbody('grant-roles');
        (r.body.roles || []).forEach(function (x) {
          var o = document.createElement('option');
          o.value = x.name;
          dl.appendChild(o);
        });
      });
    loadBindings();
  }

  // ---- check ----

  function checkEvents() {
    $('check-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('check-error', '');
      show('check-result', false);
      var q = new URLSearchParams({ user: $('check-user').value.trim(),
        target: $('check-target').value.trim(), login: $('check-login').value.trim() });
      api('GET', '/v1/check?' + q.toString()).then(function (r) {
        if (failed(r, 'check-error', 200)) return;
        $('check-verdict').textContent = r.body.allowed ? 'Allowed' : 'Not allowed';
        $('check-verdict').className = r.body.allowed ? 'state-valid' : 'state-revoked';
        $('check-reason').textContent = r.body.reason;
        show('check-result', true);
      });
    });
  }

  // ---- every user's certificates ----

  // Filtered by the server (GET /v1/certs?all=true&user=&target=&state=),
  // newest first, paged by keyset: before=<the next of the page shown>.
  var CERT_PAGE = 50;
  var certPages = [null];   // before= of each page shown (null: the newest)
  var certNext = null;

  function certQuery(before) {
    var q = new URLSearchParams({ all: 'true', limit: String(CERT_PAGE) });
    [['user', $('allcerts-user').value.trim()],
      ['target', $('allcerts-target').value.trim()],
      ['state', $('allcerts-state').value]].forEach(function (kv) {
      if (kv[1]) q.set(kv[0], kv[1]);
    });
    if (before !== null) q.set('before', String(before));
    return '/v1/certs?' + q.toString();
  }

  function certPage(before) {
    return api('GET', certQuery(before)).then(function (r) {
      if (failed(r, 'allcerts-error', 200)) return;
      setError('allcerts-error', '');
      var certs = r.body.certificates || [];
      var rows = tbody('allcerts-rows');
      certs.forEach(function (c) {
        var tr = rows.appendChild(document.createElement('tr'));
        cell(tr, c.serial, 'mono');
        cell(tr, c.username, 'mono');
        cell(tr, c.principals.join(', '), 'mono');
        cell(tr, T.when(c.valid_before));
        cell(tr, c.state, 'state-' + c.state);
        if (c.state === 'valid' && may('certs:revoke'))
          button(tr, 'Revoke', 'certificate ' + c.serial, function () {
            act('allcerts', 'POST', '/v1/certs/' + c.serial + '/revoke', 200,
              'Certificate ' + c.serial + ' of ' + c.username + ' revoked.',
              function () { certPage(before); });
          }, 'danger');
        else
          cell(tr, '');
      });
      certNext = r.body.next;
      show('allcerts-empty', certs.length === 0);
      $('allcerts-older').disabled = certNext === null || certNext === undefined;
      $('allcerts-newer').disabled = certPages.length <= 1;
      T.note('allcerts-page', 'Page ' + certPages.length +
        (certs.length < CERT_PAGE && certNext ? ' (searched part of the ' +
         'certificates; Older searches on)' : ''));
    });
  }

  function firstCerts() {
    certPages = [null];
    return certPage(null);
  }

  function showCerts() {
    if (may('users:read'))
      api('GET', '/v1/users').then(function (r) {
        if (r.status !== 200) return;
        var dl = tbody('allcerts-users');
        (r.body.users || []).forEach(function (u) {
          dl.appendChild(document.createElement('option')).value = u.username;
        });
      });
    firstCerts();
  }

  $('allcerts-filter').addEventListener('submit', function (ev) {
    ev.preventDefault();
    firstCerts();
  });
  $('allcerts-state').addEventListener('change', firstCerts);
  $('allcerts-older').addEventListener('click', function () {
    if (certNext === null || certNext === undefined) return;
    certPages.push(certNext);
    certPage(certNext);
  });
  $('allcerts-newer').addEventListener('click', function () {
    if (certPages.length <= 1) return;
    certPages.pop();
    certPage(certPages[certPages.length - 1]);
  });

  userEvents();
  targetEvents();
  bindingEvents();
  checkEvents();
  T.view('users', 'Users', 'view-users', showUsers, allow('users:read'));
  T.view('targets', 'Targets', 'view-targets', showTargets, allow('targets:read'));
  T.view('bindings', 'Bindings', 'view-bindings', showBindings, allow('bindings:read'));
  T.view('check', 'Check', 'view-check', function () {}, allow('bindings:read'));
  T.view('all-certs', 'Certificates', 'view-allcerts', showCerts, function () {
    return may('users:read') || may('certs:revoke');
  });
})();
