// Tessera's browser pages: sign-in (/), enrollment (/enroll) and device
// approval (/device).  Everything dynamic comes from the JSON API; text is
// only ever inserted with textContent, never as HTML.
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

  // ---- / ----

  function renderMe(me) {
    $('me-user').textContent = me.username;
    $('me-groups').textContent = (me.groups && me.groups.length) ?
      me.groups.join(', ') : 'none';
    $('me-ttl').textContent = duration(me.max_ttl) || '—';
    var rows = $('me-access-rows');
    clear(rows);
    var acc = me.access || [];
    acc.forEach(function (a) {
      var tr = document.createElement('tr');
      tr.appendChild(node('td', a.target, 'mono'));
      tr.appendChild(node('td', (a.logins || []).join(', '), 'mono'));
      rows.appendChild(tr);
    });
    show('me-access', acc.length > 0);
    show('me-noaccess', acc.length === 0);
    show('me', true);
  }

  function pageIndex() {
    var signedIn = function () {
      whoami(renderMe, function (r) {
        show('login', true);
        setError('login-error', message(r));
      });
    };
    loginForm(signedIn);
    whoami(renderMe, function () { show('login', true); });
    $('logout').addEventListener('click', function () {
      api('POST', '/v1/logout').then(function (r) {
        if (r.status !== 204 && r.status !== 401) {
          setError('me-error', message(r));
          return;
        }
        csrf = null;
        show('me', false);
        show('login', true);
      });
    });
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
      if (p1.value !== p2.value) {
        setError('enroll-pw-error', 'The two passwords differ.');
        return;
      }
      if (p1.value.length < 12) {
        setError('enroll-pw-error', 'At least 12 characters, please.');
        return;
      }
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

  function start() {
    var page = document.body.getAttribute('data-page');
    if (page === 'index') pageIndex();
    else if (page === 'enroll') pageEnroll();
    else if (page === 'device') pageDevice();
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
