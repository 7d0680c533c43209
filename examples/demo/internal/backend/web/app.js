// The demo pages' only script: it shows who is signed in and keeps the
// "authenticated … ago" counters live. Forms are plain HTML form POSTs:
// when one needs a step-up, caddy-stepup holds it across the sign-in and
// asks the user to confirm it, so no script keeps their values.
'use strict';

const demo = {
  // showStatus asks /api/me, which needs a sign-in. Without one, the edge
  // answers 401 with WWW-Authenticate and a JSON body whose step_up_url
  // becomes the "Sign in" link.
  async showStatus(el) {
    const res = await fetch('/api/me', {headers: {Accept: 'application/json'}});
    const body = await res.json().catch(() => ({}));
    el.replaceChildren();
    if (res.ok) {
      // Sign out is offered only to someone signed in (the public home
      // page learns it here).
      document.querySelector('form.signout')?.removeAttribute('hidden');
      el.append('Signed in as ', bold(body.user), ' · acr ', code(body.acr), ' · amr ', code((body.amr || []).join(' ')),
        ' · authenticated ', age(body.auth_time), ' ago. ', link('Sign out', '/.stepup/logout', 'signout-status'));
      if (body.assertion) el.append(assertionBox(body.assertion));
      return;
    }
    if (new URLSearchParams(location.search).has('signed-out')) {
      el.append(bold('You are signed out'), ', here and at the identity provider. ');
    }
    const signIn = new URL(body.step_up_url || '/.stepup/login', location.href);
    signIn.searchParams.set('return_to', '/');
    el.append('Not signed in. /api/me answered ', code(res.status + ''), ' with ',
      code('WWW-Authenticate: ' + (res.headers.get('WWW-Authenticate') || '')), '. ',
      link('Sign in', signIn.pathname + signIn.search, 'signin'));
  },
};

// assertionBox shows the signed assertion the backend verified for this
// /api/me request: Caddy's decision, not something the browser sent.
function assertionBox(a) {
  const box = document.createElement('div');
  box.className = 'assertion';
  box.id = 'assertion';
  const p = document.createElement('p');
  p.append('The backend trusted no header: it verified Caddy\'s signed assertion (', code('Stepup-Assertion'),
    ', ES256, keys at ', code('/.well-known/stepup-jwks.json'), '): ', bold(a.sub), ' passed rule ', code(a.rule),
    ' with acr ', code(a.acr || '-'), ', signed in ', age(a.auth_time), ' ago; valid for ', code(a.htm + ' ' + a.htu),
    ' until ', code(new Date(a.exp * 1000).toLocaleTimeString()), '.');
  const pre = document.createElement('pre');
  pre.textContent = JSON.stringify(a, null, 2);
  box.append(p, pre);
  return box;
}

function bold(text) { const b = document.createElement('b'); b.textContent = text; return b; }
function code(text) { const c = document.createElement('code'); c.textContent = text; return c; }
function link(text, href, id) { const a = document.createElement('a'); a.textContent = text; a.href = href; a.id = id; return a; }
function age(unix) { const s = document.createElement('span'); s.dataset.authTime = unix; tick(s); return s; }

function tick(el) {
  const sec = Math.max(0, Math.round(Date.now() / 1000 - Number(el.dataset.authTime)));
  el.textContent = sec < 60 ? sec + 's' : Math.floor(sec / 60) + 'm' + String(sec % 60).padStart(2, '0') + 's';
}

document.addEventListener('DOMContentLoaded', () => {
  // No inline scripts: the site's Content-Security-Policy allows only files.
  const status = document.getElementById('status');
  if (status) demo.showStatus(status);
  setInterval(() => document.querySelectorAll('[data-auth-time]').forEach(tick), 1000);
});
