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

  function toast(kind, message, findings) {
    const box = $('toast');
    clearTimeout(toastTimer);
    box.dataset.kind = kind;
    box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    $('toast-msg').textContent = message;
    fillFindings($('toast-findings'), findings || []);
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
    toast('error', err.message, err.findings);
  }

  // upload posts the file with XMLHttpRequest, which reports progress.
  function upload(file, dryRun) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', 'models/import' + (dryRun ? '?dry_run=true' : ''));
      for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
      const wrap = $('progress-wrap');
      const bar = $('progress');
      $('progress-label').textContent = dryRun ? 'Checking' : 'Importing';
      bar.value = 0;
      $('progress-text').textContent = '0%';
      wrap.hidden = false;
      xhr.upload.onprogress = (ev) => {
        if (!ev.lengthComputable) return;
        const pct = Math.floor((ev.loaded / ev.total) * 100);
        bar.value = pct;
        $('progress-text').textContent = pct + '%';
      };
      xhr.onload = () => {
        bar.value = 100;
        $('progress-text').textContent = 'done';
        try { resolve(parse(xhr.status, xhr.responseText)); } catch (e) { reject(e); }
      };
      xhr.onerror = () => reject(new Error('upload failed: network error'));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
  }

  // ---- import flow -------------------------------------------------------

  let pending = null; // the file awaiting confirmation

  function resetImport() {
    pending = null;
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
    add('Model', v.model);
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
      const res = await upload(pending, false);
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
      tr.dataset.model = v.model;
      cell(tr, 'Version', v.version);
      cell(tr, 'Model', v.model);
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
      cell(tr, 'Model', e.model || '');
      cell(tr, 'Actor', e.actor || '');
      cell(tr, 'Reason', e.reason || '');
      body.append(tr);
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

  const confirmDelete = new Map();

  async function onAction(ev) {
    const b = ev.target.closest('button[data-action]');
    if (!b) return;
    const tr = b.closest('tr');
    const version = tr.dataset.version;
    const v = encodeURIComponent(version);
    const action = b.dataset.action;
    if (action === 'delete' && !confirmDelete.has(version)) {
      // Two clicks delete, without a blocking dialog.
      b.textContent = 'Confirm delete';
      confirmDelete.set(version, setTimeout(() => { confirmDelete.delete(version); b.textContent = 'Delete'; }, 4000));
      return;
    }
    b.disabled = true;
    try {
      switch (action) {
        case 'deploy': {
          const r = await api('POST', 'models/' + v + '/deploy');
          toast('success', r.event ? 'Deployed version ' + version : 'Version ' + version + ' was already deployed');
          break;
        }
        case 'rollback': {
          const r = tr.dataset.status === 'deployed'
            ? await api('POST', 'rollback?model=' + encodeURIComponent(tr.dataset.model))
            : await api('POST', 'models/' + v + '/rollback');
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
          clearTimeout(confirmDelete.get(version));
          confirmDelete.delete(version);
          await api('DELETE', 'models/' + v);
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
      showApp();
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
    if (token() === null) showSignin(); else showApp();
    document.body.dataset.ready = 'true';
  });
})();
