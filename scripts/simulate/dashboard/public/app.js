// The simulator's panel: polls api/state (a SimSnapshot, scripts/simulate/state.ts) once a second and
// renders it. Its DOM helpers, formats and zone grid are the console's (console/src/lib, served at
// lib/): every piece of data reaches the DOM through textContent or an attribute, never markup.
import uPlot from './vendor/uplot/uPlot.esm.js';
import { $, badge, fillTable, h, setText } from './lib/dom.js';
import { age, CLOCK, count, NUMBER, rate, seconds } from './lib/format.js';
import { fillSilent, silentPanel } from './lib/silent.js';
import { densityOf, gridLayout } from './lib/zone-grid.js';

const POLL_MS = 1000;
const MAX_SILENT_ROWS = 25;

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

function renderZones(snap) {
  const zones = [...snap.zones].sort((a, b) => a.zoneId.localeCompare(b.zoneId));
  const { columns, placed } = gridLayout(zones);
  const grid = $('zone-grid');
  grid.style.gridTemplateColumns = `repeat(${Math.max(1, columns)}, minmax(0, 1fr))`;
  // Narrow cells (many columns, or a small screen): drop the detail line, then the level word (the
  // colour and each cell's accessible name still carry it).
  const cellPx = grid.clientWidth / Math.max(1, columns);
  grid.dataset.density = densityOf(cellPx);
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
  fillSilent(snap.silentSensors, snap.silentSensors.length, MAX_SILENT_ROWS);
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
    const response = await fetch('api/state', { cache: 'no-store' });
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

silentPanel('silent-panel', 'Not heard from for more than 3 periods.');
poll();
