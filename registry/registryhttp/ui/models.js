// modelvault model list: the models of a store that holds several, each
// with its deployed version, linking to each model's own page (m/NAME/).
// Plain JavaScript; relative URLs only; server data is only ever written
// with textContent.
'use strict';

(function () {
  const TOKEN_KEY = 'modelvault.token'; // shared with each model's page
  const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
  const $ = (id) => document.getElementById(id);

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function toast(message) {
    $('toast-msg').textContent = message;
    $('toast').hidden = false;
  }

  function showSignin(msg) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('app').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    $('token').value = '';
    $('token').focus();
    if (msg) toast(msg);
  }

  function showApp() {
    $('signin').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    refresh();
  }

  async function refresh() {
    const t = token();
    const res = await fetch('models-index', {
      headers: t ? { Authorization: 'Bearer ' + t } : {}, credentials: 'same-origin', cache: 'no-store',
    });
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (res.status === 401) { showSignin((body && body.error && body.error.message) || 'Sign in'); return; }
    if (!res.ok) { toast((body && body.error && body.error.message) || ('HTTP ' + res.status)); return; }
    render(body.models || []);
    document.body.dataset.loaded = String(Date.now());
  }

  function cell(tr, label, content) {
    const td = document.createElement('td');
    td.dataset.label = label;
    if (content instanceof Node) td.append(content); else td.textContent = content;
    tr.append(td);
  }

  function render(models) {
    const body = $('model-list-body');
    body.replaceChildren();
    $('models-empty').hidden = models.length > 0;
    for (const m of models) {
      const tr = document.createElement('tr');
      tr.dataset.model = m.name;
      const a = document.createElement('a');
      a.href = 'm/' + encodeURIComponent(m.name) + '/';
      a.textContent = m.name;
      cell(tr, 'Model', a);
      cell(tr, 'Deployed', m.error ? '(' + m.error + ')' : (m.deployed || 'none'));
      cell(tr, 'Versions', m.error ? '' : String(m.versions));
      cell(tr, 'Estimator', m.model_type || '');
      body.append(tr);
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
      $('toast').hidden = true;
      showApp();
    });
    $('signout').addEventListener('click', () => showSignin());
    $('toast-close').addEventListener('click', () => { $('toast').hidden = true; });
    $('refresh').addEventListener('click', () => refresh());
    $('create-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = $('new-name').value.trim();
      if (!NAME_RE.test(name)) {
        toast('"' + name + '" is not a model name: 1 to 64 lower-case letters, digits and . _ - (starting with a letter or digit)');
        return;
      }
      window.location.href = 'm/' + encodeURIComponent(name) + '/';
    });
    if (token() === null) showSignin(); else showApp();
    document.body.dataset.ready = 'true';
  });
})();
