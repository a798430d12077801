// Admin console: roles.  The list (roles:read), a structured editor and
// delete (roles:write), and each role's raw JSON.  The server validates:
// its error names the field first ("rules[0].logins[1]: ..."), and the
// message is shown next to that field.
'use strict';

(function () {
  var U = window.TesseraUI;
  if (!U) return;
  var $ = U.$, node = U.node;
  var EXTS = ['permit-pty', 'permit-agent-forwarding', 'permit-port-forwarding',
              'permit-X11-forwarding', 'permit-user-rc'];
  var nrules = 0;     // rule fieldsets made so far (unique ids)

  function can(me, perm) {
    var p = (me && me.permissions) || [];
    return p.indexOf('*') >= 0 || p.indexOf(perm) >= 0;
  }

  function list(s) {
    return s.split(',').map(function (x) { return x.trim(); })
      .filter(function (x) { return x.length > 0; });
  }

  // One labelled input of the editor; data-field is the server's name.
  function field(parent, id, label, name, value, hint) {
    var wrap = parent.appendChild(node('div', null, 'field'));
    var l = wrap.appendChild(node('label', label));
    l.htmlFor = id;
    var i = wrap.appendChild(document.createElement('input'));
    i.id = id;
    i.setAttribute('data-field', name);
    i.spellcheck = false;
    i.value = value || '';
    var err = wrap.appendChild(node('p', null, 'error field-error'));
    err.id = id + '-error';
    err.hidden = true;
    var desc = err.id;
    if (hint) {
      var h = wrap.appendChild(node('p', hint, 'hint'));
      h.id = id + '-hint';
      desc += ' ' + h.id;
    }
    i.setAttribute('aria-describedby', desc);
    return i;
  }

  function renumber() {
    var sets = $('role-rules').querySelectorAll('fieldset');
    Array.prototype.forEach.call(sets, function (fs, i) {
      fs.querySelector('legend').textContent = 'Rule ' + (i + 1);
      Array.prototype.forEach.call(fs.querySelectorAll('[data-field]'), function (e) {
        e.setAttribute('data-field', e.getAttribute('data-field')
          .replace(/^rules\[\d+\]/, 'rules[' + i + ']'));
      });
    });
  }

  function addRule(rule) {
    rule = rule || {};
    var k = nrules++, id = 'rule' + k;
    var fs = $('role-rules').appendChild(document.createElement('fieldset'));
    fs.className = 'rule';
    fs.appendChild(node('legend'));
    var labels = Object.keys(rule.labels || {}).map(function (x) {
      return x + '=' + rule.labels[x];
    }).join(', ');
    field(fs, id + '-targets', 'Targets', 'rules[0].targets',
      (rule.targets || []).join(', '), 'Names or globs, comma-separated: prod/*, lab/box');
    field(fs, id + '-labels', 'Labels', 'rules[0].labels', labels,
      'key=value pairs, comma-separated: env=prod, team=db');
    field(fs, id + '-logins', 'Logins', 'rules[0].logins',
      (rule.logins || []).join(', '), 'Comma-separated: deploy, app');
    var rm = fs.appendChild(node('button', 'Remove rule ' , 'secondary'));
    rm.type = 'button';
    rm.appendChild(node('span', String(k + 1), 'sr'));
    rm.addEventListener('click', function () {
      fs.parentNode.removeChild(fs);
      renumber();
      $('role-add-rule').focus();
    });
    renumber();
    return fs;
  }

  function ruleJson(fs) {
    var r = {};
    var t = list(fs.querySelector('[id$="-targets"]').value);
    var l = list(fs.querySelector('[id$="-labels"]').value);
    if (t.length) r.targets = t;
    if (l.length) {
      r.labels = {};
      l.forEach(function (kv) {
        var i = kv.indexOf('=');
        r.labels[i < 0 ? kv : kv.slice(0, i).trim()] = i < 0 ? '' : kv.slice(i + 1).trim();
      });
    }
    r.logins = list(fs.querySelector('[id$="-logins"]').value);
    return r;
  }

  function formJson() {
    var body = { rules: [] };
    Array.prototype.forEach.call($('role-rules').querySelectorAll('fieldset'),
      function (fs) { body.rules.push(ruleJson(fs)); });
    var ttl = $('role-ttl').value.trim();
    if (ttl) body.max_ttl = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
    body.extensions = EXTS.filter(function (x, i) { return $('role-ext' + i).checked; });
    var src = list($('role-source').value);
    if (src.length) body.source_address = src;
    var fc = $('role-force').value;
    if (fc) body.force_command = fc;
    var adm = list($('role-admin').value);
    if (adm.length) body.admin = adm;
    return body;
  }

  function clearFieldErrors() {
    Array.prototype.forEach.call($('role-form').querySelectorAll('.field-error'),
      function (e) { e.hidden = true; e.textContent = ''; });
    Array.prototype.forEach.call($('role-form').querySelectorAll('[aria-invalid]'),
      function (e) { e.removeAttribute('aria-invalid'); });
    U.setError('role-error', '');
  }

  // The server's "rules[0].logins[1]: reason": the closest field named.
  function fieldError(msg) {
    var m = /^([A-Za-z_][\w.[\]-]*): (.*)$/.exec(msg || '');
    var path = m ? m[1] : null, which = '';
    if (path && /^rules\[\d+\]$/.test(path)) path += '.targets';  // the rule as a whole
    while (path) {
      var e = $('role-form').querySelector('[data-field="' + path + '"]');
      if (e) {
        var err = $(e.id + '-error') || $('role-ext-error');
        err.textContent = which + m[2];
        err.hidden = false;
        e.setAttribute('aria-invalid', 'true');
        e.focus();
        return;
      }
      var item = /\[(\d+)\]$/.exec(path);
      if (item && !which) which = 'Entry ' + (Number(item[1]) + 1) + ': ';
      var cut = path.replace(/(\[\d+\]|\.[^.[\]]+)$/, '');
      path = cut === path ? null : cut;
    }
    U.setError('role-error', msg);
  }

  function edit(role) {
    var creating = !role;
    role = role || { rules: [{}], extensions: ['permit-pty'] };
    clearFieldErrors();
    $('role-name').value = role.name || '';
    $('role-name').readOnly = !creating;
    $('role-ttl').value = role.max_ttl ? String(role.max_ttl) : '';
    EXTS.forEach(function (x, i) {
      $('role-ext' + i).checked = (role.extensions || []).indexOf(x) >= 0;
    });
    $('role-source').value = (role.source_address || []).join(', ');
    $('role-force').value = role.force_command || '';
    $('role-admin').value = (role.admin || []).join(', ');
    U.clear($('role-rules'));
    (role.rules && role.rules.length ? role.rules : [{}]).forEach(addRule);
    $('role-editor-title').textContent = creating ? 'New role' : 'Edit role ' + role.name;
    U.show('role-editor', true);
    $('role-name').focus();
  }

  function showRaw(role) {
    $('role-raw-title').textContent = 'Role ' + role.name + ' as JSON';
    $('role-raw-text').value = JSON.stringify(role, null, 2);
    U.show('role-raw', true);
    $('role-raw-text').focus();
  }

  function load() {
    var me = U.me(), write = can(me, 'roles:write');
    U.show('role-new', write);
    if (!write) U.show('role-editor', false);
    U.api('GET', '/v1/roles').then(function (r) {
      if (U.expired(r)) return;
      if (r.status !== 200 || !r.body) {
        U.setError('roles-error', U.message(r));
        return;
      }
      U.setError('roles-error', '');
      var rows = $('roles-rows');
      U.clear(rows);
      (r.body.roles || []).forEach(function (role) {
        var tr = rows.appendChild(document.createElement('tr'));
        U.cell(tr, role.name, 'mono');
        U.cell(tr, (role.rules || []).map(function (x) {
          return (x.targets || []).concat(Object.keys(x.labels || {}).map(function (k) {
            return k + '=' + x.labels[k];
          })).join(' ') + ' → ' + (x.logins || []).join(', ');
        }).join('; '), 'mono');
        U.cell(tr, U.duration(role.max_ttl));
        U.cell(tr, (role.admin || []).join(', '));
        var td = U.cell(tr, '');
        var raw = td.appendChild(node('button', 'JSON', 'secondary'));
        raw.type = 'button';
        raw.setAttribute('aria-label', 'JSON of role ' + role.name);
        raw.addEventListener('click', function () { showRaw(role); });
        if (!write) return;
        var ed = td.appendChild(node('button', 'Edit', 'secondary'));
        ed.type = 'button';
        ed.setAttribute('aria-label', 'Edit role ' + role.name);
        ed.addEventListener('click', function () { edit(role); });
        var del = td.appendChild(node('button', 'Delete', 'danger'));
        del.type = 'button';
        del.setAttribute('aria-label', 'Delete role ' + role.name);
        del.addEventListener('click', function () { remove(role.name, false); });
      });
    });
  }

  // Delete; a role still bound asks again before its bindings go too.
  function remove(name, force) {
    if (!force && !window.confirm('Delete role ' + name + '?')) return;
    U.api('DELETE', '/v1/roles/' + encodeURIComponent(name) +
          (force ? '?force=true' : '')).then(function (r) {
      if (U.expired(r)) return;
      if (r.status === 409 && !force) {
        if (window.confirm('Role ' + name + ' is bound to users or groups. ' +
                           'Delete it and its bindings?')) remove(name, true);
        else U.note('roles-note', 'Role ' + name + ' kept.');
        return;
      }
      if (r.status !== 204) {
        U.setError('roles-error', 'Role ' + name + ' was not deleted: ' + U.message(r));
        return;
      }
      U.setError('roles-error', '');
      U.note('roles-note', 'Role ' + name + ' deleted.');
      load();
    });
  }

  function save(ev) {
    ev.preventDefault();
    clearFieldErrors();
    var name = $('role-name').value.trim();
    if (!name) {
      fieldError('name: required');
      return;
    }
    var body = formJson();
    $('role-save').disabled = true;
    U.api('PUT', '/v1/roles/' + encodeURIComponent(name), body).then(function (r) {
      $('role-save').disabled = false;
      if (U.expired(r)) return;
      if (r.status === 400 && r.body && r.body.error) {
        fieldError(r.body.error.message);
        return;
      }
      if (r.status !== 200) {
        U.setError('role-error', 'Not saved: ' + U.message(r));
        return;
      }
      U.show('role-editor', false);
      U.note('roles-note', 'Role ' + name + ' saved.');
      load();
      showRaw(r.body);
    });
  }

  function setup() {
    field($('role-fields-name'), 'role-name', 'Name', 'name', '',
      'a-z 0-9 . _ -, starting with a letter or digit.').autocapitalize = 'none';
    field($('role-fields-ttl'), 'role-ttl', 'Longest certificate', 'max_ttl', '',
      'Seconds or a duration like 8h; empty for the default.');
    var more = $('role-fields-more');
    field(more, 'role-source', 'Source addresses', 'source_address', '',
      'Address/prefix, comma-separated (10.0.0.0/8); empty for anywhere.');
    field(more, 'role-force', 'Force command', 'force_command', '');
    field(more, 'role-admin', 'Admin permissions', 'admin', '',
      'Comma-separated: users:read, roles:write, audit:read, … or *.');
    var ext = $('role-exts');
    EXTS.forEach(function (x, i) {
      var l = ext.appendChild(node('label', null, 'check'));
      var c = l.appendChild(document.createElement('input'));
      c.type = 'checkbox';
      c.id = 'role-ext' + i;
      c.setAttribute('data-field', i === 0 ? 'extensions' : 'extensions-' + i);
      l.appendChild(node('span', x, 'mono'));
    });
    $('role-new').addEventListener('click', function () { edit(null); });
    $('role-add-rule').addEventListener('click', function () {
      addRule({}).querySelector('input').focus();
    });
    $('role-cancel').addEventListener('click', function () {
      U.show('role-editor', false);
      $('role-new').focus();
    });
    $('role-form').addEventListener('submit', save);
    $('role-raw-close').addEventListener('click', function () { U.show('role-raw', false); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
  else setup();
  U.view('roles', 'Roles', 'view-roles', load, function (me) {
    return can(me, 'roles:read') || can(me, 'roles:write');
  });
})();
