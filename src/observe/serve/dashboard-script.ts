/**
 * The dashboard's script (served as /app.js; no framework, no build step). It listens to
 * /api/events and redraws: cards, the lag chart (an SVG polyline per database, last 5 minutes),
 * tables, services with their actions, verify results and errors. Every value goes in with
 * textContent. Raw numbers sit in data-value attributes beside their formatted text (tests read them).
 * Actions ask for confirmation in a dialog, then POST as JSON; the cookie carries the token.
 */
export const DASHBOARD_SCRIPT = String.raw`
const WINDOW_MS = 5 * 60 * 1000;
const COLORS = ['#2f6fde', '#e0763b', '#1a7f37', '#9c3fd1', '#c62828', '#0f8a8a', '#b08900', '#5a6b85', '#d6336c'];
const state = { snapshot: null, lag: new Map(), previous: null, routeRates: new Map(), notes: [], verifyRoutes: new Map() };

const $ = (selector) => document.querySelector(selector);
const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
function fmtBytes(n) {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n, i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(1)) + ' ' + units[i];
}
function fmtSeconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return 'unknown';
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
}
function setField(name, text, value) {
  for (const node of document.querySelectorAll('[data-field="' + name + '"]')) {
    node.textContent = text;
    if (value !== undefined) node.dataset.value = String(value);
  }
}
function cell(row, text, options) {
  const td = document.createElement('td');
  td.textContent = text;
  if (options && options.num) td.className = 'num';
  if (options && options.field) td.dataset.field = options.field;
  if (options && options.value !== undefined) td.dataset.value = String(options.value);
  row.appendChild(td);
  return td;
}
function fillRows(tbody, items, key, build) {
  tbody.textContent = '';
  for (const item of items) {
    const tr = document.createElement('tr');
    tr.dataset.key = key(item);
    build(tr, item);
    tbody.appendChild(tr);
  }
}

function recordLag(at, database, seconds, bytes) {
  if (seconds === null || seconds === undefined) return;
  let points = state.lag.get(database);
  if (!points) { points = []; state.lag.set(database, points); }
  points.push({ at: at, seconds: seconds, bytes: bytes });
  const cutoff = Date.now() - WINDOW_MS;
  while (points.length && points[0].at < cutoff) points.shift();
}

function onSnapshot(snapshot) {
  const s = snapshot.status;
  if (state.snapshot) {
    const dt = (snapshot.at - state.snapshot.at) / 1000;
    const before = new Map(((state.snapshot.status.copy || {}).routes || []).map((r) => [r.routeId, r.rowsCopied]));
    if (dt > 0) for (const r of (s.copy || {}).routes || []) {
      const prev = before.get(r.routeId);
      if (prev !== undefined) state.routeRates.set(r.routeId, Math.max(0, (r.rowsCopied - prev) / dt));
    }
  }
  if (state.snapshot && state.snapshot.status.phase !== s.phase)
    note({ at: snapshot.at, engine: 'status', level: /failed|lost/.test(s.phase) ? 'error' : 'info', text: 'phase ' + state.snapshot.status.phase + ' → ' + s.phase });
  state.snapshot = snapshot;
  if (s.sync) for (const t of s.sync.targets) recordLag(snapshot.at, t.database, t.lagSeconds, t.lagBytes);
  render();
}

function render() {
  const snapshot = state.snapshot;
  if (!snapshot) return;
  const s = snapshot.status;
  setField('migration', s.migration);
  setField('phase', s.phase, s.phase);
  $('[data-field="phase"]').className = 'badge' + (/failed|lost/.test(s.phase) ? ' bad' : s.phase === 'verified' ? ' ok' : '');
  $('#updated').textContent = 'read ' + new Date(snapshot.at).toLocaleTimeString();

  const c = s.copy;
  const ratio = c ? (c.finished ? 1 : c.estimatedRows > 0 ? Math.min(1, c.rowsCopied / c.estimatedRows) : 0) : 0;
  setField('progress', (100 * ratio).toFixed(1) + '%', ratio);
  $('#progress-bar').style.width = (100 * ratio).toFixed(1) + '%';
  setField('rows-copied', fmtInt(c ? c.rowsCopied : 0), c ? c.rowsCopied : 0);
  setField('rows-estimated', fmtInt(c ? c.estimatedRows : 0), c ? c.estimatedRows : 0);
  setField('eta', c ? (c.finished ? 'done' : fmtSeconds(c.etaSeconds)) : 'not started', c ? c.etaSeconds : '');
  setField('rate', fmtInt(c ? c.rowsPerSecond : 0), c ? c.rowsPerSecond : 0);
  const routes = c ? c.routes : [];
  const migrated = c ? (c.finished ? routes.length : routes.filter((r) => r.chunks > 0 && r.chunksDone === r.chunks).length) : 0;
  setField('tables-migrated', String(migrated), migrated);
  setField('tables-total', String(routes.length), routes.length);
  setField('chunks-done', fmtInt(c ? c.chunksDone : 0), c ? c.chunksDone : 0);
  setField('chunks', fmtInt(c ? c.chunks : 0), c ? c.chunks : 0);
  setField('conflicts', String(snapshot.conflictsPending), snapshot.conflictsPending);

  const v = s.verify;
  setField('verify', !v ? 'none' : v.ok === null ? (v.finishedAt ? 'unknown' : 'running') : v.ok ? 'OK' : 'DIFFERENCES', v ? String(v.ok) : '');
  setField('verify-at', v ? 'at ' + v.lsn + ', started ' + v.startedAt : '');

  fillRows($('#tables tbody'), routes, (r) => r.routeId, (tr, r) => {
    cell(tr, r.routeId.slice(r.routeId.indexOf('/') + 1));
    cell(tr, r.database);
    cell(tr, fmtInt(r.rowsCopied), { num: true, field: 'rows', value: r.rowsCopied });
    cell(tr, fmtInt(r.estimatedRows), { num: true, field: 'estimated', value: r.estimatedRows });
    const td = document.createElement('td');
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    const done = r.chunks > 0 && r.chunksDone === r.chunks ? 1 : r.estimatedRows > 0 ? Math.min(1, r.rowsCopied / r.estimatedRows) : 0;
    fill.style.width = (100 * done).toFixed(0) + '%';
    bar.appendChild(fill);
    td.appendChild(bar);
    tr.appendChild(td);
    cell(tr, r.chunksDone + '/' + r.chunks + (r.chunksFailed ? ' (' + r.chunksFailed + ' failed)' : ''), { num: true, field: 'chunks', value: r.chunksDone + '/' + r.chunks });
    cell(tr, fmtInt(state.routeRates.get(r.routeId) || 0), { num: true, field: 'rate' });
  });

  const targets = s.sync ? s.sync.targets : [];
  fillRows($('#databases tbody'), targets, (t) => t.database, (tr, t) => {
    cell(tr, t.database);
    cell(tr, t.appliedLsn || '-', { field: 'applied', value: t.appliedLsn || '' });
    cell(tr, t.lagBytes === null ? '-' : fmtBytes(t.lagBytes), { num: true, field: 'lag-bytes', value: t.lagBytes === null ? '' : t.lagBytes });
    cell(tr, t.lagSeconds === null ? '-' : t.lagSeconds.toFixed(1), { num: true, field: 'lag-seconds', value: t.lagSeconds === null ? '' : t.lagSeconds });
    cell(tr, t.commitTime || '-');
    cell(tr, t.holds.map((h) => h.lsn + (h.reached ? ' reached' : '')).join('; ') || '-');
  });

  fillRows($('#services tbody'), snapshot.services, (x) => x.service, (tr, x) => {
    cell(tr, x.service);
    cell(tr, x.database);
    cell(tr, x.phase, { field: 'phase', value: x.phase });
    const td = document.createElement('td');
    // A killed cutover (cutting-over) is finished by cutover again or undone by rollback; a killed
    // rollback (rolling-back) is finished by rollback again (docs/cutover.md).
    td.appendChild(actionButton('cutover', 'Cut over', x, x.phase === 'streaming' || x.phase === 'verified' || x.phase === 'cutting-over'));
    td.appendChild(document.createTextNode(' '));
    td.appendChild(actionButton('rollback', 'Roll back', x, x.phase === 'cut-over' || x.phase === 'cutting-over' || x.phase === 'rolling-back'));
    tr.appendChild(td);
  });

  renderVerify(snapshot);
  renderErrors(s);
  renderChart();
}

function renderVerify(snapshot) {
  const box = $('#verify-details');
  box.textContent = '';
  const v = snapshot.status.verify;
  if (!v) { box.textContent = 'no verify yet'; return; }
  const head = document.createElement('div');
  head.textContent = (v.ok ? 'matched' : v.ok === false ? 'found differences' : 'not finished') + ' at ' + v.lsn;
  box.appendChild(head);
  const list = document.createElement('ul');
  for (const r of state.verifyRoutes.values()) {
    if (r.status === 'ok') continue;
    const li = document.createElement('li');
    li.className = 'error';
    li.textContent = r.routeId + ': ' + r.missing + ' missing, ' + r.extra + ' extra, ' + r.different + ' different; keys ' +
      r.keys.map((k) => k.kind + ' ' + JSON.stringify(k.key) + (k.columns.length ? ' (' + k.columns.join(', ') + ')' : '')).join('; ');
    list.appendChild(li);
  }
  for (const d of snapshot.verifyDifferences) {
    const li = document.createElement('li');
    li.className = 'error';
    li.textContent = d.routeId + ': keys [' + (d.lower === null ? '-inf' : d.lower) + ', ' + (d.upper === null ? '+inf' : d.upper) + ') differ (' +
      fmtInt(d.sourceRows) + ' rows in the monolith, ' + fmtInt(d.targetRows) + ' in ' + d.database + ')';
    list.appendChild(li);
  }
  box.appendChild(list);
}

function renderErrors(s) {
  const items = [];
  for (const a of s.alerts || []) items.push(a.severity + ' ' + a.code + ': ' + a.message + ' → ' + a.hint);
  const c = s.copy;
  if (c) {
    for (const f of c.failures) items.push('copy chunk ' + f.chunkNo + ' of ' + f.routeId + ': ' + (f.sqlstate || '') + ' ' + (f.error || ''));
    if (c.catchUpError) items.push('catch-up stopped: ' + c.catchUpError.code + ' ' + c.catchUpError.message);
  }
  if (s.sync && s.sync.lastError && !s.sync.running)
    items.push('sync stopped at ' + s.sync.lastError.at + ': ' + s.sync.lastError.code + ' ' + s.sync.lastError.message + (s.sync.lastError.hint ? ' → ' + s.sync.lastError.hint : ''));
  for (const n of state.notes) if (n.level === 'error') items.push(new Date(n.at).toLocaleTimeString() + ' ' + n.engine + ': ' + n.text);
  setField('errors', String(items.length), items.length);
  const ul = $('#errors');
  ul.textContent = '';
  for (const text of items) {
    const li = document.createElement('li');
    li.className = 'error';
    li.textContent = text;
    ul.appendChild(li);
  }
  if (!items.length) { const li = document.createElement('li'); li.textContent = 'none'; ul.appendChild(li); }
}

function renderChart() {
  const svg = $('#lag-chart');
  const legend = $('#lag-legend');
  const ns = 'http://www.w3.org/2000/svg';
  svg.textContent = '';
  legend.textContent = '';
  const now = Date.now();
  let max = 1;
  let count = 0;
  let oldest = now;
  for (const points of state.lag.values()) for (const p of points) { max = Math.max(max, p.seconds); oldest = Math.min(oldest, p.at); count++; }
  // The x axis spans what is known, at least a minute and at most the window.
  const span = Math.min(WINDOW_MS, Math.max(60 * 1000, now - oldest));
  const databases = [...state.lag.keys()].sort();
  databases.forEach((database, i) => {
    const color = COLORS[i % COLORS.length];
    const points = state.lag.get(database);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', color);
    line.setAttribute('stroke-width', '2');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    line.setAttribute('data-database', database);
    line.setAttribute('points', points.map((p) => {
      const x = 640 * (1 - (now - p.at) / span);
      const y = 155 - 150 * (p.seconds / max);
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' '));
    svg.appendChild(line);
    const last = points[points.length - 1];
    const item = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = color;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(database + ' ' + (last ? last.seconds.toFixed(1) + ' s' : '')));
    legend.appendChild(item);
  });
  svg.dataset.points = String(count);
  svg.dataset.max = String(max);
  const scale = document.createElement('span');
  scale.className = 'muted';
  scale.textContent = 'scale 0 to ' + max.toFixed(1) + ' s, last ' + Math.round(span / 60000) + ' min';
  legend.appendChild(scale);
}

function actionButton(action, text, service, enabled) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = text;
  button.dataset.action = action;
  button.dataset.service = service.service;
  button.disabled = !enabled;
  button.addEventListener('click', () => confirmAction(action, text, service));
  return button;
}

let pending = null;
function confirmAction(action, text, service) {
  pending = { action: action, service: service.service };
  $('#confirm-text').textContent = text + ' service ' + service.service + ' (' + service.database + ')? ' +
    (action === 'cutover' ? 'Its tables stop taking writes on the monolith and take them in ' + service.database + '.' : 'Its tables take writes on the monolith again.');
  $('#confirm').showModal();
}
$('#confirm-cancel').addEventListener('click', () => { pending = null; $('#confirm').close('cancel'); });
$('#confirm-ok').addEventListener('click', async () => {
  const request = pending;
  pending = null;
  $('#confirm').close('ok');
  if (!request) return;
  const result = $('#action-result');
  result.textContent = request.action + ' of ' + request.service + ': sent';
  result.dataset.outcome = 'running';
  result.dataset.running = request.action + ' ' + request.service;
  try {
    const response = await fetch('/api/actions/' + request.action, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: request.service }),
    });
    const body = await response.json();
    result.textContent = request.action + ' of ' + request.service + ': ' + (body.ok ? body.message : body.code + ': ' + body.message + (body.hint ? ' ' + body.hint : ''));
    result.dataset.outcome = body.ok ? 'ok' : 'failed';
    delete result.dataset.running;
  } catch (error) {
    delete result.dataset.running;
    result.textContent = request.action + ' of ' + request.service + ' failed: ' + error;
    result.dataset.outcome = 'failed';
  }
});

function note(n) {
  state.notes.push(n);
  if (state.notes.length > 200) state.notes.shift();
  const li = document.createElement('li');
  li.className = n.level === 'error' ? 'error' : '';
  li.textContent = new Date(n.at).toLocaleTimeString() + ' ' + n.engine + ': ' + n.text;
  const ul = $('#activity');
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > 100) ul.removeChild(ul.lastChild);
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => { $('#connection').textContent = 'live'; });
  events.addEventListener('error', () => { $('#connection').textContent = 'reconnecting'; });
  events.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data).snapshot));
  events.addEventListener('lag', (e) => {
    const m = JSON.parse(e.data);
    for (const t of m.targets) recordLag(m.at, t.database, t.lagSeconds, t.lagBytes);
    renderChart();
  });
  events.addEventListener('note', (e) => { note(JSON.parse(e.data)); if (state.snapshot) renderErrors(state.snapshot.status); });
  events.addEventListener('verify-route', (e) => { const m = JSON.parse(e.data); state.verifyRoutes.set(m.routeId, m); if (state.snapshot) renderVerify(state.snapshot); });
  events.addEventListener('action-progress', (e) => {
    const m = JSON.parse(e.data);
    const result = $('#action-result');
    // The page that started the action shows where it is, until the answer replaces it.
    if (result.dataset.running === m.action + ' ' + m.service) {
      result.textContent = m.action + ' of ' + m.service + ': ' + m.text;
      result.dataset.step = m.step;
    }
    note({ at: m.at, engine: m.action, level: 'info', text: m.service + ': ' + m.text });
  });
  events.addEventListener('action', (e) => {
    const m = JSON.parse(e.data);
    note({ at: m.at, engine: 'action', level: m.outcome === 'ok' ? 'info' : 'error', text: m.action + ' of ' + m.service + ': ' + (m.code ? m.code + ' ' : '') + m.message });
  });
}
connect();
setInterval(renderChart, 2000);
`;
