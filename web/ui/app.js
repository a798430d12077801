// Tessera's browser pages: sign-in and the console (/), enrollment
// (/enroll) and device approval (/device).  Everything dynamic comes from
// the JSON API; text is only ever inserted with textContent, never as HTML.
// The console is a list of views, one function each (see view()); the
// server stays the judge of every request.
'use strict';

(function () {
  var csrf = null;  // from the login answer or GET /v1/me

  function $(id) { return document.getElementById(id); }

  function show(id, on) {
    var e = $(id);
    if (e) e.hidden = !on;
  }

  function setError(id, msg) {
    var e = $(id);
    if (!e) return;
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }

  function node(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // One API call: resolves to {status, body}; status 0 for network errors.
  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: {},
                 cache: 'no-store' };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
    return fetch(path, opts).then(function (res) {
      if (res.status === 204) return { status: 204, body: null };
      return res.json().then(function (j) {
        return { status: res.status, body: j, headers: res.headers };
      }, function () {
        return { status: res.status, body: null, headers: res.headers };
      });
    }, function () {
      return { status: 0, body: null };
    });
  }

  function message(r, fallback) {
    if (r.status === 0) return 'Cannot reach the server. Check your connection and try again.';
    if (r.status === 429) {
      var ra = r.headers && r.headers.get('Retry-After');
      return 'Too many attempts. Try again' + (ra ? ' in ' + ra + ' s.' : ' later.');
    }
    if (r.status === 503) return 'The server is busy. Try again in a moment.';
    if (r.body && r.body.error && r.body.error.message) return fallback || r.body.error.message;
    return fallback || ('Request failed (' + r.status + ').');
  }

  // A new password typed twice: the same, and long enough (the server
  // checks again).  False with the reason shown in errId.
  function passwordPair(p1, p2, errId) {
    if (p1.value !== p2.value) {
      setError(errId, 'The two passwords differ.');
      return false;
    }
    if (p1.value.length < 12) {
      setError(errId, 'At least 12 characters, please.');
      return false;
    }
    return true;
  }

  function busy(id, on) {
    var b = $(id);
    if (b) b.disabled = !!on;
  }

  function duration(s) {
    if (!s || s <= 0) return '';
    if (s % 86400 === 0) return (s / 86400) + ' d';
    if (s % 3600 === 0) return (s / 3600) + ' h';
    if (s % 60 === 0) return (s / 60) + ' min';
    return s + ' s';
  }

  function when(t) {
    try { return new Date(t * 1000).toLocaleString(); } catch (e) { return String(t); }
  }

  // ---- sign-in form, shared by / and /device ----

  function loginForm(done) {
    var form = $('login-form');
    if (!form) return;
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('login-error', '');
      var user = $('login-username').value.trim();
      var pw = $('login-password');
      var code = $('login-code');
      busy('login-submit', true);
      api('POST', '/v1/login', { username: user, password: pw.value,
                                 code: code.value.replace(/\s+/g, '') })
        .then(function (r) {
          busy('login-submit', false);
          if (r.status === 200 && r.body) {
            csrf = r.body.csrf_token;
            pw.value = '';
            code.value = '';
            show('login', false);
            done();
            return;
          }
          code.value = '';
          setError('login-error', message(r, r.status === 401 ?
            'Wrong username, password or code.' : null));
        });
    });
  }

  // GET /v1/me; calls yes(body) when signed in, no() when not.
  function whoami(yes, no) {
    api('GET', '/v1/me').then(function (r) {
      show('loading', false);
      if (r.status === 200 && r.body) {
        if (r.body.csrf_token) csrf = r.body.csrf_token;
        yes(r.body);
      } else {
        no(r);
      }
    });
  }

  // ---- / : the console ----

  var me = null;       // GET /v1/me of the signed-in user
  var views = [];      // {id, title, section, allowed(me), show()}
  var certTimer = null;

  // One view: a nav entry, its section and what shows it.  allowed(me)
  // hides the entry (an admin view passes its permission check); the
  // server still refuses what the caller may not do.
  function view(id, title, section, show, allowed) {
    views.push({ id: id, title: title, section: section, show: show,
                 allowed: allowed || function () { return true; } });
  }

  // A cell; in a table of class "stack" it carries its column's heading
  // (data-label), which the narrow layout shows before the value.
  function cell(tr, text, cls) {
    var td = node('td', text, cls);
    tr.appendChild(td);
    var table = tr.closest ? tr.closest('table') : null;
    var th = table && table.tHead ? table.tHead.rows[0].cells[td.cellIndex] : null;
    if (th && th.textContent && !th.querySelector('.sr')) td.setAttribute('data-label', th.textContent);
    return td;
  }

  function note(id, text) {
    var e = $(id);
    if (e) e.textContent = text || '';
  }

  function left(s) {
    if (s <= 0) return 'expired';
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    var parts = [];
    if (h) parts.push(h + ' h');
    if (h || m) parts.push(m + ' min');
    parts.push((s % 60) + ' s');
    return parts.join(' ') + ' left';
  }

  function now() { return Math.floor(Date.now() / 1000); }

  // A text file the browser saves: the link gets a blob: URL.
  function offerDownload(id, name, text) {
    var a = $(id);
    if (a.href && a.href.indexOf('blob:') === 0) URL.revokeObjectURL(a.href);
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    a.setAttribute('download', name);
  }

  function copyText(text, status) {
    var done = function () { note(status, 'Copied.'); };
    var fail = function () { note(status, 'Copy failed: select the text and copy it.'); };
    if (navigator.clipboard && navigator.clipboard.writeText)
      navigator.clipboard.writeText(text).then(done, fail);
    else
      fail();
  }

  // A 401 unauthenticated in the console: the session ended (expired,
  // ended elsewhere).  invalid_credentials is a wrong password or code.
  function expired(r) {
    if (r.status !== 401 || (r.body && r.body.error &&
        r.body.error.code === 'invalid_credentials')) return false;
    signedOut('Your session ended. Sign in again.');
    return true;
  }

  function signedOut(why) {
    csrf = null;
    me = null;
    show('who', false);
    show('nav', false);
    views.forEach(function (v) { show(v.section, false); });
    // Nothing of the last user stays in the page: codes are shown once.
    if (certTimer) clearInterval(certTimer);
    certTimer = null;
    $('cert-text').value = '';
    clear($('rc-codes'));
    show('cert-result', false);
    show('rc-result', false);
    show('login', true);
    show('login-note', !!why);
    note('login-note', why);
    document.title = 'Tessera · Sign in';
  }

  function navigate() {
    if (!me) return;
    var id = location.hash.replace(/^#\/?/, '') || 'overview';
    var v = views.filter(function (x) { return x.id === id && x.allowed(me); })[0] ||
      views[0];
    views.forEach(function (x) { show(x.section, x === v); });
    Array.prototype.forEach.call($('nav-list').querySelectorAll('a'), function (a) {
      if (a.getAttribute('data-view') === v.id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    document.title = 'Tessera · ' + v.title;
    v.show();
    var h = $(v.section).querySelector('h1');
    if (h && document.activeElement !== h && navigate.moved) h.focus();
    navigate.moved = true;
  }

  function startConsole(body) {
    me = body;
    show('login', false);
    show('login-note', false);
    $('who-name').textContent = me.username;
    show('who', true);
    var list = $('nav-list');
    clear(list);
    views.forEach(function (v) {
      if (!v.allowed(me)) return;
      var li = document.createElement('li');
      var a = node('a', v.title);
      a.href = '#/' + v.id;
      a.setAttribute('data-view', v.id);
      li.appendChild(a);
      list.appendChild(li);
    });
    show('nav', true);
    navigate.moved = false;
    navigate();
  }

  // ---- overview ----

  function renderMe() {
    $('me-user').textContent = me.username;
    $('me-groups').textContent = (me.groups && me.groups.length) ?
      me.groups.join(', ') : 'none';
    $('me-ttl').textContent = duration(me.max_ttl) || '—';
    var rows = $('me-access-rows');
    clear(rows);
    var acc = me.access || [];
    acc.forEach(function (a) {
      var tr = rows.appendChild(document.createElement('tr'));
      cell(tr, a.target, 'mono');
      cell(tr, (a.logins || []).join(', '), 'mono');
    });
    show('me-access', acc.length > 0);
    show('me-noaccess', acc.length === 0);
  }

  // ---- get a certificate ----

  var TTLS = [900, 3600, 4 * 3600, 8 * 3600, 86400];

  function fillSelect(sel, items) {
    var keep = sel.value;
    clear(sel);
    items.forEach(function (it) {
      var o = node('option', it[1]);
      o.value = String(it[0]);
      sel.appendChild(o);
    });
    if (items.some(function (it) { return String(it[0]) === keep; })) sel.value = keep;
  }

  function certLogins() {
    var t = $('cert-target').value;
    var a = (me.access || []).filter(function (x) { return x.target === t; })[0];
    fillSelect($('cert-login'), ((a && a.logins) || []).map(function (l) { return [l, l]; }));
  }

  function showCertForm() {
    var acc = me.access || [];
    show('cert-noaccess', acc.length === 0);
    show('cert-form', acc.length > 0);
    fillSelect($('cert-target'), acc.map(function (a) { return [a.target, a.target]; }));
    certLogins();
    var max = me.max_ttl || 3600;
    var ttls = TTLS.filter(function (t) { return t < max; }).concat([max]);
    var sel = $('cert-ttl');
    var had = sel.options.length > 0;
    fillSelect(sel, ttls.map(function (t) { return [t, duration(t)]; }));
    if (!had) sel.value = String(ttls.indexOf(3600) >= 0 ? 3600 : max);
  }

  // The key file's name: the picked file's without .pub, else the usual
  // name for the key's type.
  function keyName(line, file) {
    if (file) return file.replace(/\.pub$/, '');
    var t = (line.split(/\s+/)[0] || '');
    if (/^sk-ssh-ed25519/.test(t)) return 'id_ed25519_sk';
    if (/^sk-ecdsa/.test(t)) return 'id_ecdsa_sk';
    if (/^ssh-ed25519/.test(t)) return 'id_ed25519';
    if (/^ecdsa/.test(t)) return 'id_ecdsa';
    if (/^ssh-rsa/.test(t)) return 'id_rsa';
    return 'id_key';
  }

  // "host:port" or "[v6]:port" into [host, port].
  function hostPort(s) {
    var m = /^\[([^\]]+)\]:(\d+)$/.exec(s) || /^([^:]+):(\d+)$/.exec(s);
    return m ? [m[1], m[2]] : [s, '22'];
  }

  function sshCommand(key, target, login, rt) {
    var base = 'ssh -i ~/.ssh/' + key + ' -o CertificateFile=~/.ssh/' + key + '-cert.pub';
    if (rt && rt.gateway) {
      var g = hostPort(rt.gateway);
      return base + ' -p ' + g[1] + " -o 'SetEnv=TESSERA_TARGET=" + target +
        ' TESSERA_LOGIN=' + login + "' tessera@" + g[0];
    }
    if (rt && rt.hosts && rt.hosts.length) {
      var host = rt.hosts[0].indexOf(':') >= 0 ? '[' + rt.hosts[0] + ']' : rt.hosts[0];
      return base + (rt.port && rt.port !== 22 ? ' -p ' + rt.port : '') + ' ' + login + '@' + host;
    }
    return null;
  }

  function certConnect(key, target, login) {
    var tcmd = 'tessera ssh ' + target + ' -l ' + login;
    note('cert-cmd', tcmd);
    note('cert-cmd-hint', 'The target has no host recorded, so only tessera knows where it is.');
    api('GET', '/v1/targets/' + target + '/route').then(function (r) {
      var cmd = r.status === 200 && r.body ? sshCommand(key, target, login, r.body) : null;
      if (!cmd) return;
      note('cert-cmd', cmd);
      note('cert-cmd-hint', 'Or: ' + tcmd + '. Adjust ~/.ssh/ if your key lives elsewhere.');
    });
  }

  function certResult(c, key, target, login) {
    var name = key + '-cert.pub';
    $('cert-text').value = c.certificate + '\n';
    note('cert-filename', name);
    note('cert-summary', 'Serial ' + c.serial + ' for ' + (c.principals || []).join(', ') +
      ', valid until ' + when(c.valid_before) + ':');
    offerDownload('cert-download', name, c.certificate + '\n');
    note('cert-copied', '');
    if (certTimer) clearInterval(certTimer);
    var tick = function () {
      var s = c.valid_before - now();
      note('cert-countdown', left(s));
      if (s <= 0 && certTimer) { clearInterval(certTimer); certTimer = null; }
    };
    tick();
    certTimer = setInterval(tick, 1000);
    certConnect(key, target, login);
    show('cert-result', true);
    $('cert-result-title').focus();
  }

  function certSetup() {
    var picked = null;
    $('cert-target').addEventListener('change', certLogins);
    $('cert-file').addEventListener('change', function () {
      var f = this.files && this.files[0];
      if (!f) return;
      if (f.size > 16384) {
        setError('cert-error', 'That file is too big for a public key. Pick the .pub file.');
        return;
      }
      f.text().then(function (t) {
        picked = f.name;
        $('cert-key').value = t.trim();
        setError('cert-error', '');
      });
    });
    $('cert-key').addEventListener('input', function () { picked = null; });
    $('cert-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('cert-error', '');
      var line = $('cert-key').value.trim();
      if (/PRIVATE KEY/.test(line)) {
        $('cert-key').value = '';
        setError('cert-error', 'That is a private key: it never leaves your machine. Paste the .pub line.');
        return;
      }
      var target = $('cert-target').value, login = $('cert-login').value;
      busy('cert-submit', true);
      api('POST', '/v1/certs', { public_key: line, target: target, login: login,
                                 ttl: parseInt($('cert-ttl').value, 10) })
        .then(function (r) {
          busy('cert-submit', false);
          if (expired(r)) return;
          if (r.status !== 201 || !r.body) {
            show('cert-result', false);
            setError('cert-error', 'Refused: ' + message(r));
            return;
          }
          certResult(r.body, keyName(line, picked), target, login);
        });
    });
    $('cert-copy').addEventListener('click', function () {
      copyText($('cert-text').value, 'cert-copied');
    });
  }

  // ---- my certificates ----

  function showCerts() {
    setError('certs-error', '');
    api('GET', '/v1/certs').then(function (r) {
      if (expired(r)) return;
      if (r.status !== 200 || !r.body) {
        setError('certs-error', message(r));
        return;
      }
      var list = r.body.certificates || [];
      var rows = $('certs-rows');
      clear(rows);
      list.forEach(function (c) {
        var tr = rows.appendChild(document.createElement('tr'));
        cell(tr, c.serial, 'mono');
        cell(tr, (c.principals || []).join(', '), 'mono');
        cell(tr, when(c.valid_after) + ' – ' + when(c.valid_before));
        cell(tr, c.state, 'state-' + c.state);
        var td = cell(tr, '');
        if (c.state === 'valid') {
          var b = node('button', 'Revoke', 'danger small');
          b.type = 'button';
          b.setAttribute('aria-label', 'Revoke certificate ' + c.serial);
          b.addEventListener('click', function () { revoke(c.serial, b); });
          td.appendChild(b);
        }
      });
      show('certs-table', list.length > 0);
      show('certs-empty', list.length === 0);
    });
  }

  function revoke(serial, b) {
    b.disabled = true;
    setError('certs-error', '');
    api('POST', '/v1/certs/' + encodeURIComponent(serial) + '/revoke').then(function (r) {
      if (expired(r)) return;
      if (r.status !== 200) {
        b.disabled = false;
        setError('certs-error', 'Not revoked: ' + message(r));
        return;
      }
      note('certs-note', 'Certificate ' + serial + ' revoked. Servers refuse it once they fetch the revocation list.');
      showCerts();
    });
  }

  // ---- my sessions ----

  function showSessions() {
    setError('sessions-error', '');
    api('GET', '/v1/sessions').then(function (r) {
      if (expired(r)) return;
      if (r.status !== 200 || !r.body) {
        setError('sessions-error', message(r));
        return;
      }
      var list = (r.body.sessions || []).slice().sort(function (a, b) {
        return (b.current - a.current) || (b.last_used - a.last_used);
      });
      var rows = $('sessions-rows');
      clear(rows);
      list.forEach(function (s) {
        var tr = rows.appendChild(document.createElement('tr'));
        var where = cell(tr, s.remote_addr || 'unknown', 'mono');
        if (s.current) where.appendChild(node('span', ' (this browser)', 'tag-current'));
        cell(tr, when(s.created));
        cell(tr, when(s.last_used));
        var td = cell(tr, '');
        var b = node('button', s.current ? 'End this session' : 'End', 'danger small');
        b.type = 'button';
        if (!s.current)
          b.setAttribute('aria-label', 'End the session from ' + (s.remote_addr || 'unknown') +
            ', signed in ' + when(s.created));
        b.addEventListener('click', function () {
          if (s.current) logout();
          else endSession(s.id, b);
        });
        td.appendChild(b);
      });
      $('sessions-end-others').disabled = list.length < 2;
    });
  }

  function endSession(id, b) {
    b.disabled = true;
    api('DELETE', '/v1/sessions/' + id).then(function (r) {
      if (expired(r)) return;
      if (r.status !== 204) {
        b.disabled = false;
        setError('sessions-error', 'Not ended: ' + message(r));
        return;
      }
      note('sessions-note', 'Session ended.');
      showSessions();
    });
  }

  function sessionsSetup() {
    $('sessions-end-others').addEventListener('click', function () {
      busy('sessions-end-others', true);
      api('POST', '/v1/sessions/end-others').then(function (r) {
        busy('sessions-end-others', false);
        if (expired(r)) return;
        if (r.status !== 200 || !r.body) {
          setError('sessions-error', 'Not ended: ' + message(r));
          return;
        }
        note('sessions-note', r.body.ended === 1 ? 'Ended 1 other session.' :
          'Ended ' + r.body.ended + ' other sessions.');
        showSessions();
      });
    });
  }

  // ---- account ----

  function showAccount() {
    $('pw-username').value = me.username;
  }

  function proofMessage(r) {
    return r.status === 401 ? 'Wrong password or code. A code works once: wait for the next one.' : null;
  }

  function accountSetup() {
    $('pw-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('pw-error', '');
      var cur = $('pw-current'), p1 = $('pw-new'), p2 = $('pw-new2'), code = $('pw-code');
      if (!passwordPair(p1, p2, 'pw-error')) return;
      busy('pw-submit', true);
      api('POST', '/v1/me/password', { current_password: cur.value,
        code: code.value.replace(/\s+/g, ''), new_password: p1.value })
        .then(function (r) {
          busy('pw-submit', false);
          code.value = '';
          if (expired(r)) return;
          if (r.status !== 204) {
            setError('pw-error', 'Not changed: ' + message(r, proofMessage(r)));
            return;
          }
          cur.value = p1.value = p2.value = '';
          signedOut('Password changed, and every session ended. Sign in with the new password.');
        });
    });
    $('rc-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('rc-error', '');
      var code = $('rc-code');
      busy('rc-submit', true);
      api('POST', '/v1/me/recovery-codes', { code: code.value.replace(/\s+/g, '') })
        .then(function (r) {
          busy('rc-submit', false);
          code.value = '';
          if (expired(r)) return;
          if (r.status !== 200 || !r.body) {
            setError('rc-error', 'No new codes: ' + message(r, proofMessage(r)));
            return;
          }
          var codes = r.body.recovery_codes || [];
          var list = $('rc-codes');
          clear(list);
          codes.forEach(function (c) { list.appendChild(node('li', c, 'mono')); });
          var text = 'Tessera recovery codes for ' + me.username + ' (each works once):\n' +
            codes.join('\n') + '\n';
          offerDownload('rc-download', 'tessera-recovery-codes.txt', text);
          note('rc-copied', '');
          $('rc-copy').onclick = function () { copyText(codes.join('\n'), 'rc-copied'); };
          show('rc-result', true);
          $('rc-done').focus();
        });
    });
  }

  function logout() {
    api('POST', '/v1/logout').then(function (r) {
      if (r.status !== 204 && r.status !== 401) {
        setError('me-error', message(r));
        return;
      }
      signedOut('Signed out.');
    });
  }

  view('overview', 'Overview', 'me', renderMe);
  view('cert', 'Get a certificate', 'view-cert', showCertForm);
  view('certs', 'My certificates', 'view-certs', showCerts);
  view('sessions', 'My sessions', 'view-sessions', showSessions);
  view('account', 'Account', 'view-account', showAccount);

  function pageIndex() {
    var signedIn = function () {
      whoami(startConsole, function (r) {
        show('login', true);
        setError('login-error', message(r));
      });
    };
    loginForm(signedIn);
    whoami(startConsole, function () { signedOut(''); });
    certSetup();
    sessionsSetup();
    accountSetup();
    window.addEventListener('hashchange', navigate);
    $('logout').addEventListener('click', logout);
  }

  // ---- /enroll ----

  function b64utf8(s) {
    var bytes = new TextEncoder().encode(s);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }

  function pageEnroll() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ''));
    var token = params.get('token');
    if (!token || !/^[0-9a-f]{64}$/.test(token)) {
      show('enroll-notoken', true);
      return;
    }
    show('enroll-password', true);

    $('enroll-password-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('enroll-pw-error', '');
      var p1 = $('enroll-pw1'), p2 = $('enroll-pw2');
      if (!passwordPair(p1, p2, 'enroll-pw-error')) return;
      busy('enroll-pw-submit', true);
      api('POST', '/v1/enroll/start', { token: token, password: p1.value })
        .then(function (r) {
          busy('enroll-pw-submit', false);
          if (r.status !== 200 || !r.body) {
            setError('enroll-pw-error', message(r, r.status === 401 ?
              'This enrollment link is unknown, used or expired. Ask for a new one.' : null));
            return;
          }
          p1.value = '';
          p2.value = '';
          $('enroll-user').textContent = r.body.username;
          // The server's own SVG, shown as an image: never parsed into
          // this document.
          $('enroll-qr').src = 'data:image/svg+xml;base64,' + b64utf8(r.body.qr_svg);
          $('enroll-secret').textContent =
            r.body.totp_secret.replace(/(.{4})(?=.)/g, '$1 ');
          var link = $('enroll-uri');
          if (/^otpauth:\/\//.test(r.body.otpauth_uri)) link.href = r.body.otpauth_uri;
          else link.hidden = true;
          show('enroll-password', false);
          show('enroll-totp', true);
          $('enroll-code').focus();
        });
    });

    $('enroll-code-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      setError('enroll-code-error', '');
      var code = $('enroll-code');
      busy('enroll-code-submit', true);
      api('POST', '/v1/enroll/finish', { token: token,
                                         code: code.value.replace(/\s+/g, '') })
        .then(function (r) {
          busy('enroll-code-submit', false);
          code.value = '';
          if (r.status !== 200 || !r.body) {
            setError('enroll-code-error', message(r, r.status === 401 ?
              'That code did not match. Check the clock of your device and try the next code.' : null));
            return;
          }
          var list = $('enroll-codes');
          clear(list);
          (r.body.recovery_codes || []).forEach(function (c) {
            list.appendChild(node('li', c, 'mono'));
          });
          $('enroll-secret').textContent = '';
          $('enroll-qr').removeAttribute('src');
          show('enroll-totp', false);
          show('enroll-done', true);
          // The token is spent: drop it from the address bar and history.
          history.replaceState(null, '', location.pathname);
        });
    });
  }

  // ---- /device ----

  function pageDevice() {
    var current = null;  // the user code under review

    function review(code) {
      setError('device-error', '');
      busy('device-lookup', true);
      api('GET', '/v1/device/pending?user_code=' + encodeURIComponent(code))
        .then(function (r) {
          busy('device-lookup', false);
          if (r.status !== 200 || !r.body) {
            var msg = {
              404: 'No request with that code. Check what your terminal shows.',
              409: 'That request was already approved or denied.',
              401: 'Your session ended. Sign in again.'
            }[r.status];
            if (r.body && r.body.error && r.body.error.code === 'expired_token')
              msg = 'That request expired. Run the login again.';
            if (r.body && r.body.error && r.body.error.code === 'bad_request')
              msg = 'A code has 8 letters, like BCDF-GHJK.';
            setError('device-error', message(r, msg));
            if (r.status === 401) {
              show('device-enter', false);
              show('login', true);
            }
            return;
          }
          var p = r.body;
          current = p.user_code;
          $('review-code').textContent = p.user_code;
          $('review-type').textContent = p.key_type;
          $('review-fp').textContent = p.fingerprint;
          $('review-target').textContent = p.target || 'every target you may reach';
          $('review-login').textContent = p.login || 'every login you are allowed';
          $('review-ttl').textContent = p.ttl ? duration(p.ttl) + ' (capped by your roles)' : 'the default';
          $('review-from').textContent = p.requester || 'unknown';
          $('review-expires').textContent = when(p.expires_at);
          setError('review-error', '');
          show('device-enter', false);
          show('device-review', true);
          $('device-approve').focus();
        });
    }

    function decide(approve) {
      setError('review-error', '');
      busy('device-approve', true);
      busy('device-deny', true);
      api('POST', '/v1/device/approve', { user_code: current, approve: approve })
        .then(function (r) {
          busy('device-approve', false);
          busy('device-deny', false);
          if (r.status !== 200) {
            setError('review-error', message(r, {
              409: 'That request was already approved or denied.',
              404: 'The request is gone.'
            }[r.status]));
            return;
          }
          $('result-title').textContent = approve ? 'Approved' : 'Denied';
          $('result-text').textContent = approve ?
            'Go back to your terminal: it receives its certificate within a few seconds.' :
            'The terminal is told the request was denied. Nothing was issued.';
          show('device-review', false);
          show('device-result', true);
        });
    }

    function ready(me) {
      $('device-me').textContent = me.username;
      show('device-enter', true);
      var code = new URLSearchParams(location.search).get('user_code');
      if (code) {
        $('device-code').value = code;
        review(code);
      } else {
        $('device-code').focus();
      }
    }

    loginForm(function () { whoami(ready, function (r) {
      show('login', true);
      setError('login-error', message(r));
    }); });
    whoami(ready, function () { show('login', true); });
    $('device-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      review($('device-code').value.trim());
    });
    $('device-approve').addEventListener('click', function () { decide(true); });
    $('device-deny').addEventListener('click', function () { decide(false); });
  }

  // What the admin views (admin*.js, loaded after this file with defer)
  // build on: they register with view() before the console starts.
  window.TesseraUI = Object.freeze({
    $: $, show: show, setError: setError, clear: clear, node: node,
    api: api, message: message, duration: duration, when: when,
    view: view, cell: cell, note: note, offerDownload: offerDownload,
    copyText: copyText, expired: expired,
    me: function () { return me; }
  });

  function start() {
    var page = document.body.getAttribute('data-page');
    if (page === 'index') pageIndex();
    else if (page === 'enroll') pageEnroll();
    else if (page === 'device') pageDevice();
  }

  // Deferred, this runs while readyState is already "interactive" but
  // before the later deferred scripts (admin*.js) have registered their
  // views: start at DOMContentLoaded, which fires after all of them.
  if (document.readyState !== 'complete')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
