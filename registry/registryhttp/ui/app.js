// modelvault registry UI. Plain JavaScript, no dependencies. Every URL is
// relative, so the page works under any mount prefix; server data is only
// ever written with textContent, never parsed as HTML.
'use strict';

(function () {
  const TOKEN_KEY = 'modelvault.token';
  const NAME_RE = /^model_[A-Za-z0-9][A-Za-z0-9._+-]{0,127}_deployment\.zip$/;
  const $ = (id) => document.getElementById(id);

  // ---- token -------------------------------------------------------------

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function authHeaders() {
    const t = token();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  function showSignin(msg) {
    sessionStorage.removeItem(TOKEN_KEY);
    stopEvents();
    $('app').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('token').value = '';
    $('token').focus();
    if (msg) toast('error', msg);
  }

  function showApp() {
    $('signin').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    refresh();
    startEvents();
  }

  // ---- toasts ------------------------------------------------------------

  let toastTimer = 0;

  // Short texts for the server's error codes; the server's own message,
  // which may be a chain of Go errors, goes under Details.
  const SHORT = {
    validation_failed: 'Rejected: validation failed',
    hash_mismatch: 'Rejected: a file does not match its SHA-256',
    invalid_archive: 'Rejected: not a valid ZIP archive',
    missing_file: 'Rejected: a required file is missing',
    unsafe_path: 'Rejected: an unsafe path in the archive',
    too_large: 'Rejected: the upload is too large',
    version_exists: 'This version already exists with other content',
    in_use: 'The version is in use (deployed)',
    invalid_version: 'The version is invalid and cannot be deployed',
    no_previous: 'There is no previous deployment to roll back to',
    load_failed: 'The model failed to load; nothing changed',
    busy: 'The server is busy; try again in a moment',
    too_slow: 'The upload was too slow and was cut off',
    unknown_token: 'The checked upload is gone; upload the file again',
    token_expired: 'The checked upload expired; upload the file again',
    forbidden: 'Not allowed',
    cross_origin: 'Refused: the request came from another site',
    not_found: 'Not found',
    internal: 'Server error',
  };

  function toast(kind, message, findings, detail) {
    const box = $('toast');
    clearTimeout(toastTimer);
    box.dataset.kind = kind;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    $('toast-msg').textContent = message;
    fillFindings($('toast-findings'), findings || []);
    $('toast-detail').textContent = detail || '';
    $('toast-details').hidden = !detail || detail === message;
    $('toast-details').open = false;
    box.hidden = false;
    if (kind !== 'error') toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function fillFindings(list, findings) {
    list.replaceChildren();
    for (const f of findings) {
      const li = document.createElement('li');
      li.dataset.code = f.code;
      li.className = 'sev-' + f.severity;
      const code = document.createElement('code');
      code.textContent = f.code;
      const where = f.path && !f.message.includes(f.path) ? f.path + ': ' : '';
      li.append(code, ' ' + where + f.message);
      list.append(li);
    }
  }

  // ---- API ---------------------------------------------------------------

  // ApiError carries the server's error object.
  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || ('HTTP ' + status));
      this.status = status;
      this.code = e.code || '';
      this.findings = e.findings || [];
      this.detail = e.message || '';
    }
  }

  function parse(status, text) {
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
    if (status >= 200 && status < 300) return body;
    throw new ApiError(status, body);
  }

  async function api(method, url) {
    const res = await fetch(url, { method, headers: authHeaders(), credentials: 'same-origin', cache: 'no-store' });
    return parse(res.status, await res.text());
  }

  function fail(err) {
    if (err instanceof ApiError && err.status === 401) {
      showSignin(err.message);
      return;
    }
    if (err instanceof ApiError) {
      toast('error', SHORT[err.code] || err.message, err.findings, err.detail);
      return;
    }
    toast('error', err.message);
  }

  // upload posts the file with XMLHttpRequest, which reports progress.
  function upload(file, dryRun, reason) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const q = new URLSearchParams();
      if (dryRun) q.set('dry_run', 'true');
      if (reason) q.set('reason', reason);
      xhr.open('POST', 'models/import' + (q.size ? '?' + q : ''));
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
      const wrap = $('progress-wrap');
      const bar = $('progress');
      $('progress-label').textContent = dryRun ? 'Checking' : 'Importing';
      bar.value = 0;
      $('progress-text').textContent = '0%';
      wrap.hidden = false;
      delete wrap.dataset.state;
      const failed = () => {
        wrap.dataset.state = 'failed';
        $('progress-label').textContent = 'Failed';
        $('progress-text').textContent = 'failed';
      };
      xhr.upload.onprogress = (ev) => {
        if (!ev.lengthComputable) return;
        const pct = Math.floor((ev.loaded / ev.total) * 100);
        bar.value = pct;
        $('progress-text').textContent = pct + '%';
      };
      xhr.onload = () => {
        bar.value = 100;
        try {
          const body = parse(xhr.status, xhr.responseText);
          wrap.dataset.state = 'done';
          $('progress-text').textContent = 'done';
          resolve(body);
        } catch (e) { failed(); reject(e); }
      };
      xhr.onerror = () => { failed(); reject(new Error('Upload failed: network error')); };
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  }

  // ---- import flow -------------------------------------------------------

  let pending = null; // the file awaiting confirmation
  let staged = null; // its dry run's staging token, if the server kept it

  function resetImport() {
    pending = null;
    staged = null;
    $('confirm-reason').value = '';
    $('confirm-panel').hidden = true;
    $('upload').disabled = !checkName(false);
  }

  function checkName(report) {
    const f = $('file').files[0];
    if (!f) return false;
    if (!NAME_RE.test(f.name)) {
      if (report) {
        toast('error', 'File "' + f.name + '" must be named model_{version}_deployment.zip',
          [{ severity: 'error', code: 'invalid_name', path: '', message: 'the version may use letters, digits and . _ + -' }]);
      }
      return false;
    }
    return true;
  }

  function onFileChange() {
    pending = null;
    $('confirm-panel').hidden = true;
    $('progress-wrap').hidden = true;
    const ok = checkName(true);
    if (!ok) $('file').value = '';
    else if ($('toast').dataset.kind === 'error') $('toast').hidden = true; // a stale complaint
    $('upload').disabled = !ok;
  }

  async function onUpload(ev) {
    ev.preventDefault();
    if (!checkName(true)) return;
    const file = $('file').files[0];
    $('upload').disabled = true;
    try {
      const res = await upload(file, true);
      pending = file;
      staged = res.staged ? res.staged.token : null;
      showConfirm(res.version);
    } catch (err) {
      $('upload').disabled = false;
      fail(err);
    }
  }

  function showConfirm(v) {
    $('confirm-version').textContent = v.version;
    const dl = $('confirm-meta');
    dl.replaceChildren();
    const add = (k, val) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = val;
      dl.append(dt, dd);
    };
    add('Version', v.version);
    add('Model type', v.model_type || '');
    add('Size', human(v.size));
    add('Files', Object.keys(v.files || {}).length);
    let md = {};
    try { md = v.metadata || {}; } catch (_) { md = {}; }
    for (const [k, val] of Object.entries(md)) {
      if (k === 'version') continue;
      add(k, typeof val === 'object' ? JSON.stringify(val) : String(val));
    }
    const warnings = (v.findings || []).filter((f) => f.severity === 'warning');
    $('confirm-findings-h').hidden = warnings.length === 0;
    fillFindings($('confirm-findings'), warnings);
    $('confirm-panel').hidden = false;
    $('confirm').focus();
  }

  async function onConfirm() {
    if (!pending) return;
    $('confirm').disabled = true;
    try {
      const reason = $('confirm-reason').value.trim();
      // The checked package is kept by the server: confirming sends no
      // bytes again. Without a token (an older server), upload again.
      const res = staged
        ? await api('POST', 'staged/' + encodeURIComponent(staged) + (reason ? '?reason=' + encodeURIComponent(reason) : ''))
        : await upload(pending, false, reason);
      toast('success', 'Imported version ' + res.version.version);
      $('file').value = '';
      resetImport();
      refresh();
    } catch (err) {
      fail(err);
    } finally {
      $('confirm').disabled = false;
    }
  }

  // ---- versions ----------------------------------------------------------

  function human(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB', 'TiB'];
    let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
    return n.toFixed(1) + ' ' + units[i];
  }

  function when(s) {
    if (!s) return '';
    const d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString();
  }

  function cell(tr, label, content) {
    const td = document.createElement('td');
    td.dataset.label = label;
    if (content instanceof Node) td.append(content); else td.textContent = content;
    tr.append(td);
    return td;
  }

  function button(label, action, v, opts) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.action = action;
    b.setAttribute('aria-label', label + ' version ' + v.version);
    if (opts && opts.disabled) b.disabled = true;
    if (opts && opts.title) b.title = opts.title;
    if (opts && opts.className) b.className = opts.className;
    return b;
  }

  function renderVersions(vs) {
    const body = $('versions-body');
    body.replaceChildren();
    $('versions-empty').hidden = vs.length > 0;
    for (const v of vs) {
      const tr = document.createElement('tr');
      tr.dataset.version = v.version;
      tr.dataset.status = v.status;
      const link = document.createElement('a');
      link.href = '#/versions/' + encodeURIComponent(v.version);
      link.textContent = v.version;
      cell(tr, 'Version', link);
      cell(tr, 'Model type', v.model_type || '');
      const badge = document.createElement('span');
      badge.className = 'badge badge-' + v.status;
      badge.textContent = v.status;
      if (v.status === 'invalid' && v.findings && v.findings.length) {
        badge.title = v.findings.map((f) => f.code + ': ' + f.message).join('\n');
      }
      cell(tr, 'Status', badge);
      cell(tr, 'Imported', when(v.imported_at));
      cell(tr, 'Method', v.import_method === 'zip_upload' ? 'upload' : v.import_method === 'manual_placement' ? 'placed' : v.import_method);
      cell(tr, 'Size', human(v.size));
      const deployed = v.status === 'deployed';
      const invalid = v.status === 'invalid';
      const actions = cell(tr, 'Actions', '');
      actions.className = 'actions';
      actions.append(
        button('Deploy', 'deploy', v, { disabled: deployed || invalid, title: deployed ? 'already deployed' : '' }),
        button('Rollback', 'rollback', v, {
          disabled: invalid,
          title: deployed ? 'roll back to the previous deployment' : 'roll back to this version',
        }),
        button('Validate', 'validate', v),
        button('Delete', 'delete', v, { disabled: deployed, className: 'danger' }),
      );
      body.append(tr);
    }
  }

  function renderHistory(events) {
    const body = $('history-body');
    body.replaceChildren();
    for (const e of events.slice().reverse()) {
      const tr = document.createElement('tr');
      tr.dataset.seq = e.seq;
      tr.dataset.type = e.type;
      cell(tr, '#', String(e.seq));
      cell(tr, 'Time', when(e.time));
      cell(tr, 'Event', e.type.replace('_', ' ') + (e.from ? ' (from ' + e.from + ')' : ''));
      cell(tr, 'Version', e.version || '');
      cell(tr, 'Actor', e.actor || '');
      cell(tr, 'Reason', e.reason || '');
      body.append(tr);
    }
  }

  // renderServing summarises what the running processes serve, per
  // model: "3 of 3 replicas serve 2.0", "1 replica failed to load 2.1: ...".
  function renderServing(res) {
    const list = $('serving');
    list.replaceChildren();
    list.hidden = !res.available;
    if (!res.available) return;
    const byModel = new Map();
    for (const r of res.replicas) {
      const k = r.model || '';
      if (!byModel.has(k)) byModel.set(k, []);
      byModel.get(k).push(r);
    }
    const plural = (n) => n + ' replica' + (n === 1 ? '' : 's');
    if (byModel.size === 0) {
      const li = document.createElement('li');
      li.textContent = 'No running service reports what it serves.';
      list.append(li);
    }
    for (const [model, reps] of byModel) {
      const want = reps.map((r) => r.want).find((w) => w) || '';
      const serving = reps.filter((r) => r.version && r.version === want).length;
      const li = document.createElement('li');
      li.className = serving === reps.length ? 'ok' : 'behind';
      li.dataset.model = model;
      li.textContent = (model ? model + ': ' : '') + serving + ' of ' + plural(reps.length) + ' serve ' + (want || 'nothing');
      const others = reps.filter((r) => r.version && r.version !== want).map((r) => r.name + ' serves ' + r.version);
      if (others.length) li.textContent += ' (' + others.join(', ') + ')';
      list.append(li);
      const failed = new Map();
      for (const r of reps) {
        if (!r.last_error) continue;
        const key = r.error_version + '\u0000' + r.last_error;
        failed.set(key, (failed.get(key) || 0) + 1);
      }
      for (const [key, n] of failed) {
        const [ver, msg] = key.split('\u0000');
        const f = document.createElement('li');
        f.className = 'failed';
        f.textContent = plural(n) + ' failed to load ' + ver + ': ' + msg;
        list.append(f);
      }
    }
  }

  let refreshing = null;
  let again = false;
  const shown = { versions: '', history: '' };

  // refresh reloads versions and history; calls made meanwhile coalesce.
  function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      try {
        const [list, hist] = await Promise.all([api('GET', 'models'), api('GET', 'history?limit=50')]);
        // Re-render only what changed, so focus and clicks are not lost.
        const key = JSON.stringify(list.versions);
        if (key !== shown.versions) { shown.versions = key; renderVersions(list.versions); }
        api('GET', 'serving').then(renderServing, () => { $('serving').hidden = true; });
        const hkey = JSON.stringify(hist.events);
        if (hkey !== shown.history) { shown.history = hkey; renderHistory(hist.events); }
        document.body.dataset.loaded = String(Date.now());
      } catch (err) {
        fail(err);
      } finally {
        refreshing = null;
        if (again) { again = false; refresh(); }
      }
    })();
    return refreshing;
  }

  // ask shows the confirmation dialog; it resolves to the reason typed
  // ('' for none), or null when cancelled.
  function ask(title, text) {
    const dlg = $('action-dialog');
    $('action-h').textContent = title;
    $('action-text').textContent = text;
    $('action-reason').value = '';
    return new Promise((resolve) => {
      const done = (value) => {
        dlg.removeEventListener('close', onClose);
        resolve(value);
      };
      const onClose = () => done(dlg.returnValue === 'ok' ? $('action-reason').value.trim() : null);
      dlg.addEventListener('close', onClose);
      dlg.returnValue = '';
      dlg.showModal();
      $('action-reason').focus();
    });
  }

  // ---- version page ------------------------------------------------------

  async function showVersionPage(version) {
    for (const id of ['import', 'models', 'history-section']) $(id).hidden = true;
    $('version-page').hidden = false;
    $('vp-version').textContent = version;
    try {
      const v = encodeURIComponent(version);
      const [got, hist] = await Promise.all([api('GET', 'models/' + v), api('GET', 'history?version=' + v)]);
      const ver = got.version;
      const dl = $('vp-meta');
      dl.replaceChildren();
      const add = (k, val) => {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = val;
        dl.append(dt, dd);
      };
      add('Model type', ver.model_type || '');
      add('Status', ver.status);
      add('Imported', when(ver.imported_at) + ' (' + (ver.import_method === 'zip_upload' ? 'upload' : 'placed') + ')');
      add('Size', human(ver.size));
      const sg = ver.signer;
      add('Signed by', !sg ? 'not signed' : sg.trusted ? sg.principal + ' (' + sg.fingerprint + ')' : sg.fingerprint + ' (no trust policy)');
      for (const [k, val] of Object.entries(ver.metadata || {})) {
        if (k === 'version') continue;
        add(k, typeof val === 'object' ? JSON.stringify(val) : String(val));
      }
      const files = $('vp-files-body');
      files.replaceChildren();
      for (const name of Object.keys(ver.files || {}).sort()) {
        const tr = document.createElement('tr');
        tr.dataset.file = name;
        cell(tr, 'File', name);
        cell(tr, 'Size', human(ver.files[name].size));
        cell(tr, 'SHA-256', ver.files[name].sha256).className = 'sha';
        files.append(tr);
      }
      fillFindings($('vp-findings'), ver.findings || []);
      $('vp-no-findings').hidden = (ver.findings || []).length > 0;
      const evs = $('vp-events-body');
      evs.replaceChildren();
      for (const e of hist.events.slice().reverse()) {
        const tr = document.createElement('tr');
        tr.dataset.type = e.type;
        cell(tr, '#', String(e.seq));
        cell(tr, 'Time', when(e.time));
        cell(tr, 'Event', e.type.replace('_', ' ') + (e.from ? ' (from ' + e.from + ')' : ''));
        cell(tr, 'Actor', e.actor || '');
        cell(tr, 'Reason', e.reason || '');
        evs.append(tr);
      }
      document.body.dataset.page = 'version:' + version;
    } catch (err) {
      fail(err);
    }
  }

  function showList() {
    $('version-page').hidden = true;
    for (const id of ['import', 'models', 'history-section']) $(id).hidden = false;
    document.body.dataset.page = 'list';
  }

  // route shows the page the location's hash names: #/versions/{v} or the list.
  function route() {
    const m = /^#\/versions\/(.+)$/.exec(location.hash);
    if (m && token() !== null) showVersionPage(decodeURIComponent(m[1])); else showList();
  }

  async function onAction(ev) {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const tr = b.closest('tr');
    const version = tr.dataset.version;
    const v = encodeURIComponent(version);
    const action = b.dataset.action;
    let reason = '';
    if (action !== 'validate') {
      const deployed = tr.dataset.status === 'deployed';
      const what = {
        deploy: ['Deploy version ' + version + '?', 'Every service following this registry will load and serve it.'],
        rollback: deployed
          ? ['Roll back from version ' + version + '?', 'The previous deployment is served again.']
          : ['Roll back to version ' + version + '?', 'Version ' + version + ' is served again.'],
        delete: ['Delete version ' + version + '?', 'Its files are removed from the store. This cannot be undone.'],
      }[action];
      const r = await ask(what[0], what[1]);
      if (r === null) return;
      reason = r ? '?reason=' + encodeURIComponent(r) : '';
    }
    b.disabled = true;
    try {
      switch (action) {
        case 'deploy': {
          const r = await api('POST', 'models/' + v + '/deploy' + reason);
          toast('success', r.event ? 'Deployed version ' + version : 'Version ' + version + ' was already deployed');
          break;
        }
        case 'rollback': {
          const r = tr.dataset.status === 'deployed'
            ? await api('POST', 'rollback' + reason)
            : await api('POST', 'models/' + v + '/rollback' + reason);
          toast('success', r.event ? 'Rolled back to version ' + r.event.to : 'Nothing to roll back');
          break;
        }
        case 'validate': {
          const r = await api('POST', 'models/' + v + '/validate');
          if (r.valid) {
            const w = r.findings.filter((f) => f.severity === 'warning');
            toast('success', 'Version ' + version + ' is valid' + (w.length ? ' (' + w.length + ' warnings)' : ''), w);
          } else {
            toast('error', 'Version ' + version + ' failed validation', r.findings);
          }
          break;
        }
        case 'delete': {
          await api('DELETE', 'models/' + v + reason);
          toast('success', 'Deleted version ' + version);
          break;
        }
      }
    } catch (err) {
      fail(err);
    } finally {
      b.disabled = false;
      refresh();
    }
  }

  async function onScan() {
    try {
      const r = await api('POST', 'models/scan');
      const n = r.registered.length;
      const bad = r.invalid.length;
      if (bad) {
        toast('error', 'Scan registered ' + n + ' and found ' + bad + ' invalid', r.invalid.flatMap((v) => v.findings));
      } else {
        toast('success', 'Scan registered ' + n + ' new version' + (n === 1 ? '' : 's'));
      }
    } catch (err) {
      fail(err);
    }
    refresh();
  }

  // ---- live events -------------------------------------------------------

  // EventSource cannot send an Authorization header, so the stream is
  // read with fetch.
  let events = null;

  function stopEvents() {
    if (events) { events.abort(); events = null; }
    setLive(false);
  }

  function setLive(on) {
    $('live').dataset.state = on ? 'on' : 'off';
    $('live').textContent = on ? 'live' : 'offline';
  }

  async function startEvents() {
    stopEvents();
    const ctl = new AbortController();
    events = ctl;
    let delay = 1000;
    while (events === ctl) {
      try {
        const res = await fetch('events', { headers: authHeaders(), signal: ctl.signal, cache: 'no-store' });
        if (res.status === 401) { parse(res.status, await res.text()); }
        if (!res.ok || !res.body) throw new Error('events: HTTP ' + res.status);
        setLive(true);
        delay = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const msg = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (/^data:/m.test(msg)) refresh();
          }
        }
      } catch (err) {
        if (ctl.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) { fail(err); return; }
      }
      setLive(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  // ---- wiring ------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      if ($('toast').dataset.kind === 'error') $('toast').hidden = true; // a stale "invalid credentials"
      showApp();
      route();
    });
    $('signout').addEventListener('click', () => showSignin());
    $('file').addEventListener('change', onFileChange);
    $('upload-form').addEventListener('submit', onUpload);
    $('confirm').addEventListener('click', onConfirm);
    $('cancel').addEventListener('click', () => { $('file').value = ''; resetImport(); $('progress-wrap').hidden = true; });
    $('versions-body').addEventListener('click', onAction);
    $('refresh').addEventListener('click', () => refresh());
    $('scan').addEventListener('click', onScan);
    $('toast-close').addEventListener('click', () => { $('toast').hidden = true; });
    $('action-cancel').addEventListener('click', () => $('action-dialog').close(''));
    $('action-form').addEventListener('submit', (ev) => { ev.preventDefault(); $('action-dialog').close('ok'); });
    window.addEventListener('hashchange', route);
    if (token() === null) showSignin(); else { showApp(); route(); }
    document.body.dataset.ready = 'true';
  });
})();
