// Karere staff inbox: in-page navigation (so an unlocked key survives
// moving between pages), live updates, and the secure message view.
// OpenPGP.js is in ./crypto.js, loaded on first unlock.

const POLL_MS = 60000;
const staffID = document.body.dataset.staff;
const timeFormat = new Intl.DateTimeFormat('en-NZ', {
  timeZone: document.body.dataset.tz || undefined, weekday: 'short', day: 'numeric', month: 'short',
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
let keys = null; // { staffKey, teamKey } once unlocked: memory only
let crypto = null; // the ./crypto.js module
const keyCache = new Map(); // API path -> Promise of public keys

const $ = (sel, root = document) => root.querySelector(sel);
const csrf = () => ($('meta[name="csrf-token"]') || {}).content || '';

function say(text) {
  const live = $('#live');
  if (live) live.textContent = text;
}

class SignedOut extends Error {}

// api calls the JSON API with the session cookie (and, for changes, the
// CSRF token). background marks requests the page makes by itself.
async function api(method, path, { body, type, background } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf();
  if (type) headers['Content-Type'] = type;
  if (background) headers['X-Karere-Background'] = '1';
  const res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) throw new SignedOut();
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const msg = (json.error && json.error.message) || `${res.status} ${res.statusText}`;
    const err = new Error(msg);
    err.code = json.error && json.error.code;
    throw err;
  }
  return json;
}

function signedOut() {
  location.assign('/inbox/login?next=' + encodeURIComponent(location.pathname + location.search));
}

// ---- navigation: fetch the next page and swap its <main> -------------

function inboxURL(href) {
  const u = new URL(href, location.href);
  return u.origin === location.origin && u.pathname.startsWith('/inbox/') && !u.pathname.startsWith('/inbox/static/')
    && !u.pathname.startsWith('/inbox/log') ? u : null;
}

let navSeq = 0;

async function load(url, { method = 'GET', body, push = true, background = false, keepFocus = false } = {}) {
  const seq = ++navSeq;
  const headers = { 'X-Requested-With': 'fetch' };
  if (background) headers['X-Karere-Background'] = '1';
  let res;
  try {
    res = await fetch(url, { method, body, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    if (!background) say('The inbox could not be reached. Check the connection and try again.');
    return;
  }
  if (seq !== navSeq) return; // a newer navigation won
  const final = new URL(res.url);
  if (final.pathname.startsWith('/inbox/login')) return signedOut();
  const type = res.headers.get('Content-Type') || '';
  if (!type.startsWith('text/html')) {
    location.assign(url);
    return;
  }
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const next = doc.getElementById('main');
  if (!next) {
    location.assign(final.href);
    return;
  }
  const cur = document.getElementById('main');
  const focusedID = keepFocus && document.activeElement && document.activeElement.id;
  const focusedHref = keepFocus && document.activeElement && document.activeElement.getAttribute('href');
  const scroll = window.scrollY;
  // Keep a reply being typed across a refresh of the same thread.
  const draft = $('#reply-text');
  const draftText = draft ? draft.value : '';
  cur.replaceWith(next);
  document.title = doc.title;
  const meta = doc.querySelector('meta[name="csrf-token"]');
  if (meta && $('meta[name="csrf-token"]')) $('meta[name="csrf-token"]').content = meta.content;
  if (push && final.href !== location.href) history.pushState({}, '', final.href);
  else if (push) history.replaceState({}, '', final.href);
  if (keepFocus) {
    window.scrollTo(0, scroll);
    const nd = $('#reply-text');
    if (nd && draftText) nd.value = draftText;
    const el = (focusedID && document.getElementById(focusedID))
      || (focusedHref && next.querySelector(`[href="${CSS.escape(focusedHref)}"]`));
    if (el) el.focus();
  } else {
    window.scrollTo(0, 0);
    (next.querySelector('h1') || next).setAttribute('tabindex', '-1');
    (next.querySelector('h1') || next).focus();
    say('');
  }
  initPage();
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = inboxURL(a.href);
  if (!u) return;
  e.preventDefault();
  load(u.href);
});

document.addEventListener('submit', (e) => {
  const form = e.target;
  if (form.id === 'keybar' || form.id === 'reply') return; // handled below
  if ((form.method || '').toLowerCase() !== 'post') return;
  const u = inboxURL(form.action);
  if (!u) return;
  e.preventDefault();
  const body = new URLSearchParams(new FormData(form));
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  load(u.href, { method: 'POST', body });
});

window.addEventListener('popstate', () => load(location.href, { push: false }));

// ---- the key --------------------------------------------------------

function keyState(state, text) {
  const bar = $('#keybar');
  if (!bar) return;
  bar.dataset.state = state;
  $('#key-status').textContent = text;
  const unlocked = state === 'unlocked';
  $('#passphrase').hidden = unlocked;
  $('label[for="passphrase"]', bar).hidden = unlocked;
  $('#unlock').hidden = unlocked;
  $('#lock').hidden = !unlocked;
}

async function unlock(passphrase) {
  crypto = crypto || (await import('./crypto.js'));
  const [locked, grant, staff] = await Promise.all([
    api('GET', `/v1/staff/${encodeURIComponent(staffID)}/key/locked`),
    api('GET', `/v1/team-key/grants/${encodeURIComponent(staffID)}`),
    api('GET', '/v1/staff'),
  ]);
  // The grant must be signed by a staff member's key.
  const staffKeys = (await Promise.all(staff.staff.filter((s) => s.fingerprint)
    .map((s) => senderKeys(`staff:${s.id}`)))).flat();
  return crypto.unlock({
    lockedArmored: locked.armored,
    passphrase,
    grantArmored: grant.armored,
    teamFingerprint: grant.team_fingerprint,
    staffKeys,
  });
}

function initKeybar() {
  const bar = $('#keybar');
  if (!bar) return;
  $('#unlock').disabled = false; // disabled in the HTML, like the reply button
  bar.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#passphrase');
    const passphrase = input.value;
    input.value = '';
    $('#unlock').disabled = true;
    keyState('working', 'Unlocking…');
    try {
      keys = await unlock(passphrase);
      keyState('unlocked', 'Key unlocked for this tab');
      initPage();
    } catch (err) {
      if (err instanceof SignedOut) return signedOut();
      keys = null;
      keyState('error', err.message || 'The key could not be unlocked.');
      input.focus();
    } finally {
      $('#unlock').disabled = false;
    }
  });
  $('#lock').addEventListener('click', () => {
    keys = null;
    keyState('locked', 'Key locked: unlock it to read and reply.');
    load(location.href, { push: false, keepFocus: true });
    $('#passphrase').focus();
  });
}

// ---- the thread view -------------------------------------------------

// senderKeys are the claimed sender's public keys (current and previous).
function senderKeys(sender, patientRef) {
  let path;
  if (sender === 'patient') path = `/v1/patients/${encodeURIComponent(patientRef)}/key`;
  else if (sender.startsWith('staff:')) path = `/v1/staff/${encodeURIComponent(sender.slice(6))}/key`;
  else return Promise.resolve([]);
  if (!keyCache.has(path)) {
    const p = api('GET', path)
      .then((r) => crypto.readPublicKeys([r.current && r.current.armored, ...(r.previous || []).map((k) => k.armored)]))
      .catch((err) => {
        keyCache.delete(path);
        if (err instanceof SignedOut) throw err;
        return [];
      });
    keyCache.set(path, p);
  }
  return keyCache.get(path);
}

const sigText = {
  good: 'signature good',
  bad: 'signature BAD: this message may have been altered or forged',
  unknown_signer: "unknown signer: not signed by the sender's key",
  unsigned: 'unsigned',
};

async function decryptItem(li, patientRef) {
  if (!keys || li.dataset.done) return;
  const body = $('[data-body]', li);
  const sig = $('[data-sig]', li);
  const armored = $('.ct', li).textContent;
  try {
    const verify = await senderKeys(li.dataset.sender, patientRef);
    const out = await crypto.decryptMessage(keys, armored, verify);
    body.textContent = out.text;
    body.classList.remove('locked');
    sig.textContent = sigText[out.signature];
    sig.className = `msg-sig sig-${out.signature}`;
    li.dataset.done = '1';
  } catch (err) {
    if (err instanceof SignedOut) return signedOut();
    body.textContent = 'This message could not be decrypted with your keys.';
    sig.textContent = '';
  }
}

function messageItem(view, m) {
  const li = document.createElement('li');
  li.className = `msg ${m.sender === 'patient' ? 'from-patient' : 'from-staff'}`;
  li.id = `m-${m.id}`;
  li.dataset.id = m.id;
  li.dataset.sender = m.sender;
  const meta = document.createElement('p');
  meta.className = 'msg-meta';
  const who = document.createElement('strong');
  who.textContent = m.sender === 'patient' ? view.dataset.patientName
    : m.sender === `staff:${staffID}` ? document.body.dataset.name : 'Practice staff';
  const time = document.createElement('time');
  time.dateTime = m.created_at;
  time.textContent = timeFormat.format(new Date(m.created_at)).replace(',', '');
  meta.append(who, ' · ', time);
  if (m.arrived_unencrypted) {
    const flag = document.createElement('span');
    flag.className = 'flag-plain';
    flag.textContent = `arrived unencrypted via ${m.via === 'sms' ? 'SMS' : m.via}`;
    meta.append(' · ', flag);
  }
  if (m.sender_unverified) {
    const flag = document.createElement('span');
    flag.className = 'flag-unverified';
    flag.title = "Sent to this thread's reply address, but from an email address that is neither the patient's nor their guardian's";
    flag.textContent = "sender not verified: not from the patient's or guardian's address";
    meta.append(' · ', flag);
  }
  const sig = document.createElement('p');
  sig.className = 'msg-sig';
  sig.dataset.sig = '';
  sig.textContent = 'signature not checked yet';
  const body = document.createElement('div');
  body.className = 'msg-body locked';
  body.dataset.body = '';
  body.textContent = 'Encrypted. Unlock your key to read.';
  const ct = document.createElement('pre');
  ct.className = 'ct';
  ct.hidden = true;
  ct.textContent = m.ciphertext;
  li.append(meta, sig, body, ct);
  return li;
}

// loadNew fetches the thread's messages after the last one shown.
async function loadNew(view, background) {
  const after = view.dataset.last || '';
  const q = after ? `?after=${encodeURIComponent(after)}` : '';
  const res = await api('GET', `/v1/threads/${encodeURIComponent(view.dataset.thread)}/messages${q}`, { background });
  const list = $('#messages', view);
  for (const m of res.messages) {
    if (document.getElementById(`m-${m.id}`)) continue;
    const li = messageItem(view, m);
    list.append(li);
    view.dataset.last = m.id;
    decryptItem(li, view.dataset.patient);
  }
  if (res.messages.length > 0) {
    const empty = $('.empty', view);
    if (empty) empty.remove();
    if (background) say('New message in this thread.');
  }
}

function initThread(view) {
  const patientRef = view.dataset.patient;
  for (const li of view.querySelectorAll('.msg')) {
    const body = $('[data-body]', li);
    if (!keys) body.classList.add('locked');
    decryptItem(li, patientRef);
  }
  const form = $('#reply', view);
  const status = $('#reply-status', view);
  // The button is disabled in the HTML: without this script nothing could
  // submit the plaintext anywhere.
  $('#reply-send', view).disabled = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#reply-text', view).value.trim();
    if (!text) return;
    if (!keys) {
      status.textContent = 'Unlock your key first (at the top of the page).';
      $('#passphrase').focus();
      return;
    }
    const send = $('#reply-send', view);
    send.disabled = true;
    status.textContent = 'Encrypting…';
    try {
      const rk = await api('GET', `/v1/keys/${encodeURIComponent(patientRef)}`);
      const recipients = await crypto.readPublicKeys([rk.patient.armored, rk.team.armored]);
      if (recipients.length !== 2) throw new Error("The patient's or the team's key could not be read.");
      const armored = await crypto.encryptReply(keys, text, recipients);
      status.textContent = 'Sending…';
      await api('POST', `/v1/threads/${encodeURIComponent(view.dataset.thread)}/messages`, {
        body: armored,
        type: 'text/plain; charset=utf-8',
      });
      $('#reply-text', view).value = '';
      status.textContent = 'Reply sent (encrypted and signed).';
      await loadNew(view, false);
    } catch (err) {
      if (err instanceof SignedOut) return signedOut();
      status.textContent = `Not sent: ${err.message}`;
    } finally {
      send.disabled = false;
    }
  });
}

// ---- the template editor: live preview ----------------------------------

function initTemplate(ed) {
  const body = $('#tpl-body', ed);
  const subject = $('#tpl-subject', ed);
  const html = $('#tpl-html', ed);
  const error = $('#tpl-error', ed);
  let timer = 0;
  let seq = 0;
  const preview = async () => {
    const mine = ++seq;
    const draft = { kind: ed.dataset.kind, channel: ed.dataset.channel, locale: ed.dataset.locale, body: body.value };
    if (subject) draft.subject = subject.value;
    if (html) draft.html = html.value;
    try {
      const pv = await api('POST', '/v1/templates/preview', { body: JSON.stringify(draft), type: 'application/json' });
      if (mine !== seq) return;
      $('#tpl-preview', ed).textContent = pv.rendered;
      const subj = $('#tpl-preview-subject', ed);
      if (subj) subj.textContent = pv.subject || '';
      $('#tpl-segments', ed).textContent = pv.segments
        ? `${pv.segments} ${pv.segments === 1 ? 'segment' : 'segments'}, ${pv.encoding}${pv.max_segments ? ` (limit ${pv.max_segments})` : ''}`
        : '';
      error.hidden = true;
      error.textContent = '';
    } catch (err) {
      if (err instanceof SignedOut) return signedOut();
      if (mine !== seq) return;
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  for (const el of [body, subject, html]) {
    if (el) el.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(preview, 300); });
  }
}

function initPage() {
  const main = $('#main');
  if (!main) return;
  const ed = $('#template-editor', main);
  if (ed && !ed.dataset.init) {
    ed.dataset.init = '1';
    initTemplate(ed);
  }
  const view = $('#thread', main);
  if (view && !view.dataset.init) {
    view.dataset.init = '1';
    initThread(view);
  } else if (view) {
    for (const li of view.querySelectorAll('.msg')) decryptItem(li, view.dataset.patient);
  }
}

// ---- live updates -----------------------------------------------------

let refreshTimer = 0;

function refresh(ev) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    const main = $('#main');
    const page = main && main.dataset.page;
    const view = $('#thread', main);
    try {
      if (view) {
        if (!ev || ev.thread === view.dataset.thread) await loadNew(view, true);
      } else if (page === 'threads' || page === 'deliveries') {
        await load(location.href, { push: false, background: true, keepFocus: true });
      }
    } catch (err) {
      if (err instanceof SignedOut) signedOut();
    }
  }, ev ? 250 : 0);
}

function initEvents() {
  if (!window.EventSource) return;
  const es = new EventSource('/inbox/events');
  es.onmessage = (m) => {
    let ev = {};
    try {
      ev = JSON.parse(m.data);
    } catch {
      return;
    }
    refresh(ev);
  };
  es.onopen = () => {
    if ($('#live').textContent.startsWith('Live updates')) say('');
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) say('Live updates stopped; the page still checks every minute.');
  };
}

if (staffID) {
  initKeybar();
  initPage();
  initEvents();
  setInterval(() => refresh(null), POLL_MS);
}
