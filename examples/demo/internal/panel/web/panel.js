// The decision panel: polls /demo/events and draws what Caddy logged; the
// simulator's switches are cookies the simulator (the front site) reads.
'use strict';

let after = 0;
const rows = new Map(); // request id -> table row

function cookie(name) {
  const m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
  return m ? m[1] : '';
}
// Lax, not Strict: the IdP's redirect back to /.stepup/callback is a
// cross-site navigation, and the sign-in must be recorded from the same
// simulated place and device as the requests around it.
function setCookie(name, value) {
  document.cookie = name + '=' + value + '; Path=/; Secure; SameSite=Lax; Max-Age=86400';
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function ago(unix) {
  if (!unix) return '';
  const s = Math.round(Date.now() / 1000 - Number(unix));
  return s < 60 ? s + 's ago' : Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's ago';
}

function session(e) {
  if (!e.acr && !e.subject) return '';
  return [e.subject, e.acr && 'acr ' + e.acr, e.amr && 'amr ' + e.amr, e.auth_time && 'auth_time ' + ago(e.auth_time)]
    .filter(Boolean).join(' · ');
}

function risk(e) {
  if (!e.risk_score) return '';
  return e.risk_score + (e.risk_reasons ? ' (' + e.risk_reasons + ')' : '');
}

function rowFor(id) {
  let tr = id && rows.get(id);
  if (tr) return tr;
  tr = document.createElement('tr');
  for (const c of ['time', 'request', 'status', 'decision', 'session', 'risk']) tr.append(el('td', '', c));
  if (id) { tr.dataset.requestId = id; rows.set(id, tr); }
  document.querySelector('#decisions tbody').prepend(tr);
  document.getElementById('no-decisions').hidden = true;
  return tr;
}

function cell(tr, name) { return tr.querySelector('td.' + name); }

function show(e) {
  const tr = rowFor(e.request_id);
  const t = new Date(Number(e.time) * 1000).toLocaleTimeString();
  if (e.kind === 'request') {
    cell(tr, 'time').textContent = t;
    cell(tr, 'request').textContent = e.method + ' ' + e.path + (e.site === 'report_only' ? ' [report-only site]' : '');
    cell(tr, 'status').textContent = e.status;
    const d = cell(tr, 'decision');
    d.prepend(el('span', [e.result || 'public: no rule', e.rule && 'rule ' + e.rule, e.reason && 'reason ' + e.reason]
      .filter(Boolean).join(' · '), 'result'));
    tr.classList.add(e.result || 'none');
    if (!cell(tr, 'session').textContent) cell(tr, 'session').textContent = session(e);
    if (!cell(tr, 'risk').textContent) cell(tr, 'risk').textContent = risk(e);
    tr.title = 'request id ' + e.request_id + (e.client_ip ? ', client_ip ' + e.client_ip : '');
  } else {
    if (!cell(tr, 'time').textContent) cell(tr, 'time').textContent = t;
    if (!cell(tr, 'request').textContent) cell(tr, 'request').textContent = (e.method || '') + ' ' + (e.path || '');
    const parts = [e.msg, e.rule && 'rule ' + e.rule, e.reason && 'reason ' + e.reason, e.mode && 'mode ' + e.mode,
      e.client_ip && 'client_ip ' + e.client_ip, e.error];
    cell(tr, 'decision').append(el('span', parts.filter(Boolean).join(' · '), 'audit'));
    if (session(e)) cell(tr, 'session').textContent = session(e);
    if (risk(e)) cell(tr, 'risk').textContent = risk(e);
  }
}

function metrics(list) {
  const body = document.querySelector('#metrics tbody');
  body.replaceChildren();
  for (const m of list || []) {
    const tr = document.createElement('tr');
    tr.append(el('td', m.name), el('td', m.value));
    body.append(tr);
  }
}

async function poll() {
  try {
    const res = await fetch('/demo/events?after=' + after, {cache: 'no-store'});
    const body = await res.json();
    for (const e of body.events || []) {
      if (e.path && e.path.startsWith('/static/')) { after = e.seq; continue; }
      show(e);
      after = e.seq;
    }
    metrics(body.metrics);
    document.getElementById('live').textContent = body.metrics_error ? '(metrics: ' + body.metrics_error + ')' : '(live)';
  } catch (err) {
    document.getElementById('live').textContent = '(demo stopped?)';
  }
  setTimeout(poll, 1000);
}

async function burst() {
  const out = document.getElementById('burst-result');
  out.textContent = 'sending…';
  const statuses = await Promise.all(Array.from({length: 60}, () =>
    fetch('/api/me', {headers: {Accept: 'application/json'}}).then(r => r.status).catch(() => 'error')));
  const counts = {};
  for (const s of statuses) counts[s] = (counts[s] || 0) + 1;
  out.textContent = '60 requests: ' + Object.entries(counts).map(([s, n]) => n + '× ' + s).join(', ');
}

document.addEventListener('DOMContentLoaded', () => {
  const defaults = {network: 'home', device: 'this', mode: 'enforce'};
  for (const name of Object.keys(defaults)) {
    const current = cookie('demo_' + name) || defaults[name];
    for (const input of document.querySelectorAll('input[name=' + name + ']')) {
      input.checked = input.value === current;
      input.addEventListener('change', () => setCookie('demo_' + name, input.value));
    }
  }
  document.getElementById('burst').addEventListener('click', burst);
  poll();
});
