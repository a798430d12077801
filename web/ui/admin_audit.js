// Admin console: the audit trail (audit:read).  Newest first, filtered by
// the server, paged by keyset (before=<seq>: the next cursor of the page
// shown; never an offset), a follow mode that polls for events above the
// newest one shown, each event's detail, and the chain's verification.
'use strict';

(function () {
  var U = window.TesseraUI;
  if (!U) return;
  var $ = U.$, node = U.node;
  var PAGE = 25, FOLLOW_MS = 2000;
  var cursors = [];   // before= of each page shown so far (null: the newest)
  var next = null;    // before= of the following (older) page
  var top = 0;        // newest seq shown on the first page
  var timer = null;

  function can(me) {
    var p = (me && me.permissions) || [];
    return p.indexOf('*') >= 0 || p.indexOf('audit:read') >= 0;
  }

  // datetime-local (the browser's time zone) as the server's UTC text.
  function utc(v) {
    if (!v) return null;
    var d = new Date(v);
    return isNaN(d.getTime()) ? v : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  function query(extra) {
    var q = [];
    var add = function (k, v) { if (v) q.push(k + '=' + encodeURIComponent(v)); };
    add('actor', $('audit-actor').value.trim());
    add('action', $('audit-action').value.trim());
    add('object', $('audit-object').value.trim());
    add('since', utc($('audit-since').value));
    add('until', utc($('audit-until').value));
    Object.keys(extra).forEach(function (k) { add(k, extra[k]); });
    return '/v1/audit?' + q.join('&');
  }

  function row(e, prepend) {
    var rows = $('audit-rows');
    var tr = document.createElement('tr');
    if (prepend) rows.insertBefore(tr, rows.firstChild);
    else rows.appendChild(tr);
    U.cell(tr, e.seq, 'mono');
    U.cell(tr, e.time, 'mono');
    U.cell(tr, e.actor);
    U.cell(tr, e.action, 'mono');
    U.cell(tr, e.object || '', 'mono');
    U.cell(tr, e.result);
    var b = U.cell(tr, '').appendChild(node('button', 'Detail', 'secondary'));
    b.type = 'button';
    b.setAttribute('aria-label', 'Detail of event ' + e.seq);
    b.addEventListener('click', function () {
      $('audit-detail-title').textContent = 'Event ' + e.seq;
      $('audit-detail-text').textContent = JSON.stringify(e, null, 2);
      U.show('audit-detail', true);
      $('audit-detail-title').focus();
    });
  }

  function page(before) {
    var extra = { order: 'newest', limit: String(PAGE) };
    if (before !== null) extra.before = String(before);
    return U.api('GET', query(extra)).then(function (r) {
      if (U.expired(r)) return;
      if (r.status !== 200 || !r.body) {
        U.setError('audit-error', U.message(r));
        return;
      }
      U.setError('audit-error', '');
      U.clear($('audit-rows'));
      var ev = r.body.events || [];
      ev.forEach(function (e) { row(e, false); });
      if (before === null) top = ev.length ? ev[0].seq : top;
      next = r.body.next;
      U.show('audit-empty', ev.length === 0);
      $('audit-older').disabled = next === null || next === undefined;
      $('audit-newer').disabled = cursors.length <= 1;
      U.note('audit-page', 'Page ' + cursors.length +
        (ev.length ? ', events ' + ev[0].seq + ' to ' + ev[ev.length - 1].seq : '') +
        (ev.length < PAGE && next ? ' (searched part of the trail; Older searches on)' : ''));
    });
  }

  function first() {
    cursors = [null];
    top = 0;
    return page(null);
  }

  // Follow: events above the newest shown, oldest first, put on top.
  function poll() {
    if (cursors.length !== 1) return;
    U.api('GET', query({ after: String(top), limit: '100' })).then(function (r) {
      if (!timer || U.expired(r) || r.status !== 200 || !r.body) return;
      (r.body.events || []).forEach(function (e) {
        row(e, true);
        top = e.seq;
        U.show('audit-empty', false);
      });
      var rows = $('audit-rows');
      while (rows.rows.length > PAGE) rows.removeChild(rows.lastChild);
      if ((r.body.events || []).length) {
        U.note('audit-follow-note', 'New events up to ' + top + '.');
        U.note('audit-page', 'Page 1, events ' + top + ' to ' +
          rows.rows[rows.rows.length - 1].cells[0].textContent);
      }
    });
  }

  function follow(on) {
    if (timer) clearInterval(timer);
    timer = null;
    if (on) {
      first().then(function () { timer = setInterval(poll, FOLLOW_MS); });
      U.note('audit-follow-note', 'Following: new events appear on top.');
    } else {
      U.note('audit-follow-note', '');
    }
  }

  function verify() {
    U.note('audit-verify-result', 'Verifying the chain…');
    U.api('GET', '/v1/audit/verify').then(function (r) {
      if (U.expired(r)) return;
      var out = $('audit-verify-result');
      out.className = 'note';
      if (r.status === 429 && r.body && r.body.error) {
        // One at a time per server, a few a minute per user.
        out.textContent = 'Not verified now: ' + r.body.error.message +
          '. Try again in ' + (r.headers.get('Retry-After') || 'a few') + ' s.';
        out.className = 'error';
      } else if (r.status !== 200 || !r.body) {
        out.textContent = 'Verification failed: ' + U.message(r);
        out.className = 'error';
      } else if (r.body.ok) {
        out.textContent = 'Chain ok: ' + r.body.count + ' events, head ' + r.body.head + '.';
      } else {
        out.textContent = 'Chain broken at event ' + r.body.bad_seq + ': the trail was altered.';
        out.className = 'error';
      }
    });
  }

  function setup() {
    $('audit-filter').addEventListener('submit', function (ev) {
      ev.preventDefault();
      $('audit-follow').checked = false;
      follow(false);
      first();
    });
    $('audit-older').addEventListener('click', function () {
      if (next === null) return;
      $('audit-follow').checked = false;
      follow(false);
      cursors.push(next);
      page(next);
    });
    $('audit-newer').addEventListener('click', function () {
      if (cursors.length <= 1) return;
      cursors.pop();
      page(cursors[cursors.length - 1]);
    });
    $('audit-follow').addEventListener('change', function () {
      follow($('audit-follow').checked);
    });
    $('audit-verify').addEventListener('click', verify);
    $('audit-detail-close').addEventListener('click', function () {
      U.show('audit-detail', false);
    });
    window.addEventListener('hashchange', function () {
      if (location.hash !== '#/audit') {
        $('audit-follow').checked = false;
        follow(false);
      }
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
  else setup();
  U.view('audit', 'Audit', 'view-audit', function () {
    if (!$('audit-follow').checked) first();
  }, can);
})();
