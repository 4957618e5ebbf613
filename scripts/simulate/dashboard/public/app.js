// The dashboard page: polls /api/state (a SimSnapshot, scripts/simulate/state.ts) once a second and
// renders it. Every piece of data reaches the DOM through textContent or an attribute, never
// through markup, so zone ids, sensor ids and quarantine reasons cannot inject anything.
import uPlot from '/vendor/uplot/uPlot.esm.js';

const POLL_MS = 1000;
const MAX_SILENT_ROWS = 25;
const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const CLOCK = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

const $ = (id) => document.getElementById(id);

/** Creates an element; string children become text nodes (escaped by construction). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style') Object.assign(el.style, value);
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

const count = (n) => (Number.isFinite(n) ? NUMBER.format(n) : '–');
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
/** Rates are averages over a few seconds: keep a decimal while they are small. */
const rate = (n) => (Number.isFinite(n) && Math.abs(n) < 10 ? ONE_DECIMAL.format(n) : count(n));

function seconds(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "45 s", "3 min 07 s", "2 h 05 min". */
function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

const badge = (level) => h('span', { className: 'badge', dataset: { level } }, level);

// ---------------------------------------------------------------------------------------------
// Charts (uPlot). Sized to their container; redrawn with setData on every poll.

const SERIES_COLOURS = { published: '#2563eb', stored: '#059669', quarantined: '#c2410c', p99: '#7c3aed', target: '#b42318' };

function makeChart(container, series, axes, height) {
  const chart = new uPlot(
    {
      width: Math.max(200, container.clientWidth),
      height,
      series: [{}, ...series],
      axes,
      scales: { x: { time: true } },
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    },
    [[], ...series.map(() => [])],
    container,
  );
  new ResizeObserver(() => chart.setSize({ width: Math.max(200, container.clientWidth), height })).observe(container);
  return chart;
}

let ratesChart;
let latencyChart;

function ensureCharts() {
  if (ratesChart) return;
  const axisStroke = getComputedStyle(document.documentElement).getPropertyValue('--fg-muted').trim() || '#555';
  const grid = { stroke: 'rgba(127,127,127,0.2)' };
  // Whole seconds on the time axis (history has one point per second), as wall-clock time.
  const timeAxis = {
    stroke: axisStroke,
    grid,
    incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300],
    space: 70,
    values: (_u, ticks) => ticks.map((t) => CLOCK.format(new Date(t * 1000))),
  };
  ratesChart = makeChart(
    $('rates-chart'),
    [
      { label: 'published /s', stroke: SERIES_COLOURS.published, width: 2, scale: 'r' },
      { label: 'stored /s', stroke: SERIES_COLOURS.stored, width: 2, scale: 'r' },
      { label: 'quarantined /s (right axis)', stroke: SERIES_COLOURS.quarantined, width: 1.5, scale: 'q' },
    ],
    [
      timeAxis,
      { scale: 'r', stroke: axisStroke, grid, size: 64, values: (_u, ticks) => ticks.map((v) => NUMBER.format(v)) },
      { scale: 'q', side: 1, stroke: SERIES_COLOURS.quarantined, grid: { show: false }, size: 48 },
    ],
    240,
  );
  latencyChart = makeChart(
    $('latency-chart'),
    [
      { label: 'p99 end-to-end (s)', stroke: SERIES_COLOURS.p99, width: 2, scale: 's' },
      { label: 'target (s)', stroke: SERIES_COLOURS.target, width: 1, dash: [6, 4], scale: 's' },
    ],
    [
      timeAxis,
      { scale: 's', stroke: axisStroke, grid, size: 64 },
    ],
    130,
  );
}

function renderCharts(snap) {
  ensureCharts();
  const hist = snap.history ?? [];
  const t = hist.map((p) => p.t / 1000);
  ratesChart.setData([t, hist.map((p) => p.published), hist.map((p) => p.stored), hist.map((p) => p.quarantined)]);
  const targetS = snap.latency.endToEnd.targetMs / 1000;
  latencyChart.setData([
    t,
    hist.map((p) => (p.p99EndToEndMs === null ? null : p.p99EndToEndMs / 1000)),
    hist.map(() => targetS),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Panels

const TITLE = document.title;

function renderHeader(snap) {
  const critical = snap.activeAlerts.filter((a) => a.level === 'CRITICAL').length;
  const warning = snap.activeAlerts.length - critical;
  const flags = [critical && `${critical} CRITICAL`, warning && `${warning} WARNING`].filter(Boolean);
  document.title = flags.length ? `(${flags.join(', ')}) ${TITLE}` : TITLE;
  const rate = snap.hz === 1 ? '1 Hz' : `${snap.hz} Hz`;
  setText('run-meta', `Scenario ${snap.scenario} · ${count(snap.sensors)} sensors at ${rate} · ${snap.zones.length} zones · running ${age(snap.now - snap.startedAt)}`);
}

function renderRates(snap) {
  for (const key of ['published', 'ingested', 'stored', 'quarantined']) setText(`rate-${key}`, rate(snap.rates[key]));
  setText('rate-published-expected', `fleet: ${count(snap.sensors * snap.hz)} /s (${count(snap.sensors)} × ${snap.hz} Hz)`);
  const share = snap.rates.stored + snap.rates.quarantined > 0 ? (snap.rates.quarantined / (snap.rates.stored + snap.rates.quarantined)) * 100 : 0;
  setText('rate-quarantined-share', `${share.toFixed(2)} % of processed`);
}

function renderTotals(snap) {
  for (const [key, value] of Object.entries(snap.totals)) {
    const el = $(`total-${key}`);
    if (!el) continue;
    setText(`total-${key}`, count(value));
    if (key === 'duplicateAlerts' || key === 'missedAlerts') el.classList.toggle('bad', value > 0);
  }
}

function renderLatency(id, title, view) {
  const { p50Ms, p99Ms, targetMs, count: n } = view;
  let state = 'none';
  let verdict = 'no data yet';
  if (p99Ms !== null) {
    state = p99Ms <= targetMs ? 'ok' : 'over';
    verdict = state === 'ok' ? 'p99 within target' : 'p99 over target';
  }
  const scaleMs = Math.max(targetMs * 1.25, p99Ms ?? 0);
  const pct = (ms) => `${Math.min(100, ((ms ?? 0) / scaleMs) * 100).toFixed(1)}%`;
  const label = `${title}: p50 ${seconds(p50Ms)}, p99 ${seconds(p99Ms)}, target ${seconds(targetMs)}, ${verdict}`;
  $(id).replaceChildren(
    h('h3', {}, title),
    h(
      'dl',
      { className: 'latency-figures' },
      h('div', {}, h('dt', {}, 'p50'), h('dd', {}, seconds(p50Ms))),
      h('div', {}, h('dt', {}, 'p99'), h('dd', { dataset: { state } }, seconds(p99Ms))),
      h('div', {}, h('dt', {}, 'target'), h('dd', {}, seconds(targetMs))),
    ),
    h(
      'div',
      { className: 'meter', role: 'img', 'aria-label': label },
      h('span', { className: 'meter-p50', style: { width: pct(p50Ms) } }),
      h('span', { className: 'meter-p99', dataset: { state }, style: { width: pct(p99Ms) } }),
      h('span', { className: 'meter-target', style: { left: pct(targetMs) } }),
    ),
    h('p', { className: 'verdict', dataset: { state } }, `${verdict} · ${count(n)} samples`),
  );
}

/**
 * Rows and columns from the zones' coordinates: each distinct latitude a row (north at the top),
 * each distinct longitude a column, when the zones sit on a grid; otherwise latitude and longitude
 * are binned into about √n bands each and a zone that lands on a taken cell moves to the next free
 * one in its row (then the rows below).
 */
function gridLayout(zones) {
  const key = (v) => Math.round(v * 1e4);
  const lats = [...new Set(zones.map((z) => key(z.lat)))].sort((a, b) => b - a);
  const lons = [...new Set(zones.map((z) => key(z.lon)))].sort((a, b) => a - b);
  const side = Math.ceil(Math.sqrt(zones.length));
  const regular = lats.length * lons.length <= Math.max(4, 2 * zones.length);
  const band = (values, v, n, descending) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    if (hi === lo) return 0;
    const f = (v - lo) / (hi - lo);
    return Math.min(n - 1, Math.floor((descending ? 1 - f : f) * n));
  };
  const rows = regular ? lats.length : side;
  const columns = regular ? lons.length : side;
  const taken = new Set();
  const placed = zones.map((z) => {
    let row = regular ? lats.indexOf(key(z.lat)) : band(lats, key(z.lat), rows, true);
    let column = regular ? lons.indexOf(key(z.lon)) : band(lons, key(z.lon), columns, false);
    let cell = row * columns + column;
    while (taken.has(cell)) cell += 1;
    taken.add(cell);
    row = Math.floor(cell / columns);
    column = cell % columns;
    return { zone: z, row, column };
  });
  return { columns, placed };
}

function renderZones(snap) {
  const zones = [...snap.zones].sort((a, b) => a.zoneId.localeCompare(b.zoneId));
  const { columns, placed } = gridLayout(zones);
  const grid = $('zone-grid');
  grid.style.gridTemplateColumns = `repeat(${Math.max(1, columns)}, minmax(0, 1fr))`;
  // Narrow cells (many columns, or a small screen): drop the detail line, then the level word (the
  // colour and each cell's accessible name still carry it).
  const cellPx = grid.clientWidth / Math.max(1, columns);
  grid.dataset.density = cellPx < 60 ? 'tiny' : cellPx < 125 ? 'dense' : 'roomy';
  const counts = { NORMAL: 0, WARNING: 0, CRITICAL: 0 };
  grid.replaceChildren(
    ...placed.map(({ zone, row, column }) => {
      counts[zone.level] = (counts[zone.level] ?? 0) + 1;
      const congestion = Math.max(0, Math.min(100, zone.congestion));
      return h(
        'div',
        {
          className: 'zone',
          role: 'listitem',
          dataset: { level: zone.level, zone: zone.zoneId },
          style: { gridRow: String(row + 1), gridColumn: String(column + 1) },
          title: `${zone.zoneId} · ${zone.lat.toFixed(4)}, ${zone.lon.toFixed(4)}`,
          'aria-label': `Zone ${zone.zoneId}: ${zone.level}, congestion ${congestion.toFixed(0)} of 100, ${zone.speedKmh.toFixed(0)} km/h, ${zone.reporting} of ${zone.sensors} sensors reporting`,
        },
        h('span', { className: 'zone-id' }, zone.zoneId),
        h('span', { className: 'zone-level' }, zone.level),
        h('span', { className: 'zone-congestion' }, `${congestion.toFixed(0)}`, h('small', {}, ' / 100')),
        h('span', { className: 'zone-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${congestion}%` } })),
        h('span', { className: 'zone-detail' }, `${zone.speedKmh.toFixed(0)} km/h · ${zone.reporting}/${zone.sensors} reporting`),
      );
    }),
  );
  setText('zones-count', `(${zones.length}: ${counts.CRITICAL} critical, ${counts.WARNING} warning)`);
  $('zones-empty').hidden = zones.length > 0;
}

function fillTable(tableId, emptyId, rows) {
  $(`${tableId}`).tBodies[0].replaceChildren(...rows);
  $(tableId).hidden = rows.length === 0;
  $(emptyId).hidden = rows.length > 0;
}

const announced = new Set();
let firstAlertRender = true;

function renderAlerts(snap) {
  const levelRank = { CRITICAL: 0, WARNING: 1, NORMAL: 2 };
  const active = [...snap.activeAlerts].sort((a, b) => levelRank[a.level] - levelRank[b.level] || a.since - b.since);
  fillTable(
    'active-alerts',
    'active-empty',
    active.map((a) =>
      h('tr', { dataset: { level: a.level, zone: a.zoneId } }, h('td', {}, badge(a.level)), h('td', {}, a.zoneId), h('td', {}, age(snap.now - a.since)), h('td', { className: 'mono' }, a.alertId)),
    ),
  );
  setText('active-count', `(${active.length})`);

  fillTable(
    'recent-alerts',
    'recent-empty',
    snap.recentAlerts.map((a) =>
      h(
        'tr',
        {},
        h('td', { className: 'mono' }, CLOCK.format(new Date(a.receivedAt))),
        h('td', {}, a.zoneId),
        h('td', { className: 'change' }, badge(a.from), h('span', { 'aria-label': 'to' }, ' → '), badge(a.to)),
        h('td', { className: 'num' }, seconds(a.latencyMs)),
      ),
    ),
  );
  setText('recent-count', `(${snap.recentAlerts.length} shown of ${count(snap.totals.alerts)})`);

  // Tell screen-reader users about alerts that arrive while they watch (not the backlog).
  const fresh = snap.recentAlerts.filter((a) => !announced.has(a.alertId));
  for (const a of fresh) announced.add(a.alertId);
  if (!firstAlertRender && fresh.length > 0) {
    setText('alert-announcer', fresh.map((a) => `Zone ${a.zoneId}: ${a.from} to ${a.to}.`).join(' '));
  }
  firstAlertRender = false;
}

function renderQuarantine(snap) {
  const entries = Object.entries(snap.quarantinedByReason).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  fillTable(
    'quarantine',
    'quarantine-empty',
    entries.map(([reason, n]) =>
      h(
        'tr',
        {},
        h('td', { className: 'reason' }, reason),
        h('td', { className: 'num' }, count(n)),
        h('td', { className: 'bar-col', 'aria-hidden': 'true' }, h('span', { className: 'bar', style: { width: `${total ? (n / total) * 100 : 0}%` } })),
      ),
    ),
  );
}

function renderSilent(snap) {
  const silent = [...snap.silentSensors].sort((a, b) => b.silentForMs - a.silentForMs);
  const rows = silent
    .slice(0, MAX_SILENT_ROWS)
    .map((s) => h('tr', {}, h('td', { className: 'mono' }, s.sensorId), h('td', {}, s.zoneId), h('td', { className: 'num' }, age(s.silentForMs))));
  if (silent.length > MAX_SILENT_ROWS) {
    rows.push(h('tr', {}, h('td', { colspan: 3, className: 'more' }, `and ${count(silent.length - MAX_SILENT_ROWS)} more`)));
  }
  fillTable('silent', 'silent-empty', rows);
  setText('silent-count', `(${count(silent.length)})`);
}

function render(snap) {
  renderHeader(snap);
  renderRates(snap);
  renderLatency('latency-end-to-end', 'End to end (publish → stored)', snap.latency.endToEnd);
  renderLatency('latency-alert', 'Alert (crossing reading → alert received)', snap.latency.alert);
  renderZones(snap);
  renderAlerts(snap);
  renderTotals(snap);
  renderQuarantine(snap);
  renderSilent(snap);
  renderCharts(snap);
}

// ---------------------------------------------------------------------------------------------
// Polling: one request at a time, the next one POLL_MS after the previous answer.

let polls = 0;

function setConnection(state, text) {
  const el = $('connection');
  el.dataset.state = state;
  if (el.textContent !== text) el.textContent = text;
}

async function poll() {
  let snap;
  try {
    const response = await fetch('/api/state', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    snap = await response.json();
  } catch (error) {
    setConnection('down', `Simulator not answering (${error.message}); retrying`);
    setTimeout(poll, POLL_MS);
    return;
  }
  try {
    render(snap);
    polls += 1;
    document.body.dataset.polls = String(polls);
    setConnection('live', `Live · updated ${CLOCK.format(new Date(snap.now))}`);
  } catch (error) {
    console.error('dashboard: cannot render the snapshot', error);
    setConnection('down', `Cannot render the snapshot (${error.message})`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
