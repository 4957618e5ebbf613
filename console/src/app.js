// The traffic controllers' console: sign in, then poll the console API every 2 s and show the city
// (a map of zones and sensors coloured by level), the active alerts first as sentences (with a
// cue for a new CRITICAL and an acknowledgement), a zone's sensors and trend, the silent sensors,
// and how old the data is. Built from the simulator panel's modules (lib/); every piece of data
// reaches the DOM as text.
import 'leaflet/dist/leaflet.css';
import 'uplot/dist/uPlot.min.css';
import './lib/base.css';
import './styles/console.css';
import uPlot from 'uplot';
import { createApi } from './api.js';
import { createAuth, describeUser } from './auth.js';
import { $, badge, fillTable, h, setText } from './lib/dom.js';
import { age, CLOCK, count, decimal } from './lib/format.js';
import { fillSilent, silentPanel } from './lib/silent.js';
import { densityOf, gridLayout } from './lib/zone-grid.js';
import { createMap } from './map.js';

/** How often the page asks: 50 controllers at this rate is the load the API is sized for. */
const POLL_MS = 2_000;
/** Sensors' positions change rarely: asked at start and then this often. */
const POSITIONS_MS = 300_000;
/** The freshness target: the data age turns red past it. */
const STALE_AFTER_MS = 10_000;
/** Active alerts listed before "Show all". */
const ALERTS_SHOWN = 12;
// Silent sensors listed (the API sends the first 100 and how many in all).
const MAX_SILENT_ROWS = 100;

const state = {
  config: null,
  api: null,
  auth: null,
  city: null,
  cityAt: 0,
  alerts: null,
  positions: new Map(),
  zoneOfSensor: new Map(),
  openZone: null,
  openSensor: null,
  showAllAlerts: false,
  seenCritical: null,
  soundOn: false,
  audio: null,
  map: null,
  trendChart: null,
  renders: 0,
  running: false,
};

// ---------------------------------------------------------------------------------------------
// Sign-in and sign-out.

function showSignIn(reason) {
  state.running = false;
  document.body.dataset.view = 'signin';
  $('app').hidden = true;
  $('signin').hidden = false;
  setText('signin-reason', reason ?? 'Sign in with your controller account.');
}

async function main() {
  silentPanel('silent-panel', 'No reading for SilentSensorPeriods rollup windows (the detector\'s rule).');
  const response = await fetch('/config.json', { cache: 'no-store' });
  state.config = await response.json();
  state.auth = createAuth(state.config.auth);
  state.api = createApi(state.config.api, state.auth, showSignIn);
  $('signin-button').addEventListener('click', () => state.auth.signIn());
  $('signout').addEventListener('click', () => state.auth.signOut());
  $('sound').addEventListener('click', toggleSound);
  $('zone-close').addEventListener('click', closeZone);
  $('banner-close').addEventListener('click', () => ($('critical-banner').hidden = true));
  $('alerts-more').addEventListener('click', () => {
    state.showAllAlerts = !state.showAllAlerts;
    if (state.alerts) renderAlerts();
  });
  $('sensor-close').addEventListener('click', closeSensor);
  const user = await state.auth.start();
  if (!user || user.error) return showSignIn(user?.error);
  startConsole(user);
}

function startConsole(user) {
  const who = describeUser(user);
  setText('who', `${who.name}${who.groups.length ? ` (${who.groups.join(', ')})` : ''}`);
  setText('env', state.config.environment);
  document.body.dataset.view = 'console';
  $('signin').hidden = true;
  $('app').hidden = false;
  if (state.config.map.attribution) {
    setText('map-attribution', state.config.map.attribution);
    $('map-attribution').hidden = false;
  }
  state.map ??= createMap($('map'), state.config.map, openZone);
  state.running = true;
  loop(pollCityAndAlerts, POLL_MS);
  loop(pollZone, POLL_MS);
  loop(pollPositions, () => (positionsComplete() ? POSITIONS_MS : POLL_MS * 5));
  setInterval(renderAge, 250);
}

/** Runs `task` now and then `everyMs` (a number, or a function of the moment) after each answer, while signed in. */
function loop(task, everyMs) {
  const tick = async () => {
    if (!state.running) return;
    try {
      await task();
    } catch (error) {
      if (error.status !== 401) setConnection('down', `The console API is not answering (${error.message}); retrying`);
    }
    if (state.running) setTimeout(tick, typeof everyMs === 'function' ? everyMs() : everyMs);
  };
  tick();
}

function setConnection(kind, text) {
  const el = $('connection');
  el.dataset.state = kind;
  setText(el, text);
}

// ---------------------------------------------------------------------------------------------
// The city.

/**
 * The city and its alerts, from one refresh of the API's snapshot, so that the map and the alerts
 * agree (an alert's sensor is red on the map as the alert appears): when the two answers come from
 * different refreshes, the older one is asked again.
 */
async function pollCityAndAlerts() {
  let [city, alerts] = await Promise.all([state.api('/city'), state.api('/alerts')]);
  if (alerts.generatedAtMs > city.generatedAtMs) city = await state.api('/city');
  else if (city.generatedAtMs > alerts.generatedAtMs) alerts = await state.api('/alerts');
  showCity(city);
  showAlerts(alerts);
}

function showCity(city) {
  state.city = city;
  state.cityAt = Date.now();
  renderCity();
  setConnection('live', `Live · ${CLOCK.format(new Date(city.generatedAtMs))}`);
  state.renders += 1;
  document.body.dataset.renders = String(state.renders);
}

/** Positions are asked for again soon while the console cannot place them yet (a sensor with no zone, or none at all). */
const positionsComplete = () => state.positions.size > 0 && state.zoneOfSensor.size >= state.positions.size;

async function pollPositions() {
  const { sensors } = await state.api('/sensors');
  state.positions = new Map(sensors.map((s) => [s.sensorId, { lat: s.lat, lon: s.lon }]));
  state.zoneOfSensor = new Map(sensors.filter((s) => s.zoneId).map((s) => [s.sensorId, s.zoneId]));
  if (state.city) renderMap();
}

/**
 * Time passed since the API computed what the page shows: on the server (from the snapshot to the
 * answer, one clock) plus on this machine (since the answer arrived, another clock).
 */
const lag = () => (state.city.servedAtMs ?? state.city.generatedAtMs) - state.city.generatedAtMs + (Date.now() - state.cityAt);

/** How old the newest data of the slowest zone is, counting the time since the page got it. */
function renderAge() {
  const el = $('data-age');
  if (!state.city || state.city.city.dataAgeMs === null) {
    el.dataset.state = 'none';
    setText(el, 'Data age: no data yet');
    return;
  }
  const ageMs = state.city.city.dataAgeMs + lag();
  const stale = ageMs > STALE_AFTER_MS;
  if (el.dataset.state !== (stale ? 'stale' : 'ok')) {
    el.dataset.state = stale ? 'stale' : 'ok';
    setText('age-announcer', stale ? 'The data is more than 10 seconds old.' : 'The data is current again.');
  }
  el.dataset.ageMs = String(Math.round(ageMs));
  setText(el, `Data age ${(ageMs / 1000).toFixed(1)} s${stale ? ' — behind' : ''}`);
}

function renderCity() {
  const { city, zones } = state.city;
  setText('city-meta', `${count(city.sensorsLive)} sensors live, ${count(city.sensorsReporting)} of ${count(city.sensorsExpected)} reporting · ${zones.length} zones`);
  renderZoneGrid(zones);
  renderSilent();
  renderMap();
  renderAge();
}

function sensorLevels() {
  const levels = new Map();
  for (const s of state.city?.silent ?? []) levels.set(s.sensorId, 'SILENT');
  for (const a of state.city?.alertSensors ?? []) levels.set(a.sensorId, a.level);
  return levels;
}

function renderMap() {
  if (!state.map || !state.city) return;
  const drawn = state.map.update(state.city.zones, state.positions, state.zoneOfSensor, sensorLevels());
  $('map-empty').hidden = drawn > 0;
}

function renderZoneGrid(zones) {
  const { columns, placed } = gridLayout(zones.map((z) => ({ ...z, lat: z.centre?.lat, lon: z.centre?.lon })));
  const grid = $('zone-grid');
  grid.style.gridTemplateColumns = `repeat(${Math.max(1, columns)}, minmax(0, 1fr))`;
  grid.dataset.density = densityOf(grid.clientWidth / Math.max(1, columns));
  const counts = { NORMAL: 0, WARNING: 0, CRITICAL: 0, UNKNOWN: 0 };
  grid.replaceChildren(
    ...placed.map(({ zone, row, column }) => {
      counts[zone.level] = (counts[zone.level] ?? 0) + 1;
      const congestion = zone.meanCongestion === null ? null : Math.max(0, Math.min(100, zone.meanCongestion));
      const alerts = zone.alerts.CRITICAL + zone.alerts.WARNING;
      const label =
        `Zone ${zone.zoneId}: ${zone.level}` +
        (congestion === null ? ', no live sensor' : `, congestion ${congestion.toFixed(0)} of 100, ${decimal(zone.meanSpeedKmh)} km/h, ${count(zone.vehicles)} vehicles`) +
        `, ${zone.sensorsReporting} of ${zone.sensorsExpected} sensors reporting` +
        (alerts ? `, ${zone.alerts.CRITICAL} critical and ${zone.alerts.WARNING} warning alerts` : '');
      return h(
        'div',
        { role: 'listitem', className: 'zone-cell', style: { gridRow: String(row + 1), gridColumn: String(column + 1) } },
        h(
          'button',
          {
            type: 'button',
            className: 'zone',
            dataset: { level: zone.level, zone: zone.zoneId },
            'aria-label': label,
            'aria-pressed': state.openZone === zone.zoneId ? 'true' : 'false',
            onclick: () => openZone(zone.zoneId),
          },
          h('span', { className: 'zone-id' }, zone.zoneId),
          h('span', { className: 'zone-level' }, zone.level),
          h('span', { className: 'zone-congestion' }, congestion === null ? '–' : congestion.toFixed(0), h('small', {}, ' / 100')),
          h('span', { className: 'zone-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${congestion ?? 0}%` } })),
          h(
            'span',
            { className: 'zone-detail' },
            `${decimal(zone.meanSpeedKmh)} km/h · ${zone.sensorsReporting}/${zone.sensorsExpected} · ${zone.dataAgeMs === null ? '–' : age(zone.dataAgeMs + lag())}` + (alerts ? ` · ${alerts} alert${alerts > 1 ? 's' : ''}` : ''),
          ),
        ),
      );
    }),
  );
  setText('zones-count', `(${zones.length}: ${counts.CRITICAL} critical, ${counts.WARNING} warning)`);
  $('zones-empty').hidden = zones.length > 0;
}

function renderSilent() {
  const { silent, silentTotal, generatedAtMs } = state.city;
  fillSilent(silent.map((s) => ({ ...s, silentForMs: generatedAtMs - s.lastSeenAtMs })), silentTotal, MAX_SILENT_ROWS);
}

// ---------------------------------------------------------------------------------------------
// Alerts.

const alertKey = (a) => `${a.sensorId}|${a.level}|${a.sinceMs}`;

async function pollAlerts() {
  showAlerts(await state.api('/alerts'));
}

function showAlerts(alerts) {
  state.alerts = alerts;
  renderAlerts();
}

function renderAlerts() {
  const { active, recent, activeTotal = active.length, recentTotal = recent.length } = state.alerts;
  // CRITICAL first; a long list is cut (the count says how many, one click shows them all).
  const shown = state.showAllAlerts ? active : active.slice(0, ALERTS_SHOWN);
  $('active-alerts').replaceChildren(...shown.map((a) => alertItem(a, true)));
  $('alerts-more').hidden = active.length <= ALERTS_SHOWN;
  setText('alerts-more', state.showAllAlerts ? 'Show fewer' : `Show ${activeTotal > active.length ? `the first ${active.length} of ${activeTotal}` : `all ${active.length}`} alerts`);
  $('active-empty').hidden = active.length > 0;
  setText('active-count', `(${activeTotal})`);
  $('recent-alerts').replaceChildren(...recent.slice(0, 50).map((a) => alertItem(a, false)));
  $('recent-empty').hidden = recent.length > 0;
  setText('recent-count', `(${recentTotal})`);
  const critical = active.filter((a) => a.level === 'CRITICAL');
  document.title = `${critical.length ? `(${critical.length} CRITICAL) ` : ''}TapStack · traffic console`;
  // A CRITICAL alert that was not there before (not the backlog of the first load): banner, sound, announcement.
  const keys = new Set(critical.map(alertKey));
  if (state.seenCritical !== null) {
    const fresh = critical.filter((a) => !state.seenCritical.has(alertKey(a)));
    if (fresh.length > 0) cueCritical(fresh);
  }
  state.seenCritical = new Set([...(state.seenCritical ?? []), ...keys]);
}

function alertItem(a, active) {
  const item = h(
    'li',
    { className: 'alert', dataset: { level: a.level, sensor: a.sensorId, zone: a.zoneId, acknowledged: a.acknowledged ? 'true' : 'false' } },
    badge(active ? a.level : 'NORMAL'),
    h('p', { className: 'sentence' }, a.sentence),
  );
  if (active && !a.acknowledged) {
    item.append(
      h(
        'button',
        { type: 'button', className: 'ack', onclick: (event) => acknowledge(a, event.currentTarget), 'aria-label': `Acknowledge the ${a.level} alert of sensor ${a.sensorId}` },
        'Acknowledge',
      ),
    );
  }
  return item;
}

async function acknowledge(alert, button) {
  button.disabled = true;
  setText(button, 'Acknowledging…');
  try {
    await state.api('/alerts/acknowledge', { method: 'POST', body: JSON.stringify({ sensorId: alert.sensorId, level: alert.level, since: alert.sinceMs }) });
    await pollAlerts();
  } catch (error) {
    button.disabled = false;
    setText(button, 'Acknowledge');
    showNotice(`Could not acknowledge: ${error.message}`);
  }
}

function showBanner(kind, text) {
  const banner = $('critical-banner');
  banner.dataset.kind = kind;
  setText('banner-text', text);
  banner.hidden = false;
}

const showNotice = (text) => showBanner('notice', text);

/** "sensor-00093 in zone-09 (congestion 92.9)", for the first few; the list has every sentence. */
const shortly = (a) => `sensor ${a.sensorId} in zone ${a.zoneId}${a.value === null ? '' : ` (congestion ${decimal(a.value)})`}`;

function cueCritical(fresh) {
  const banner = $('critical-banner');
  const first = fresh.slice(0, 2).map(shortly).join(', ');
  showBanner('critical', `New CRITICAL alert${fresh.length > 1 ? `s (${fresh.length})` : ''}: ${first}${fresh.length > 2 ? `, and ${fresh.length - 2} more in Active alerts` : ''}.`);
  banner.classList.remove('flash');
  void banner.offsetWidth; // restart the flash animation
  banner.classList.add('flash');
  setText('alert-announcer', `New critical alert. ${fresh.map((a) => a.sentence).join(' ')}`);
  if (state.soundOn) beep();
}

/** The sound cue needs a click first (browsers start audio only after a user gesture). */
function toggleSound() {
  state.soundOn = !state.soundOn;
  if (state.soundOn) {
    state.audio ??= new AudioContext();
    state.audio.resume();
    beep();
  }
  $('sound').setAttribute('aria-pressed', String(state.soundOn));
  setText('sound', state.soundOn ? 'Sound on' : 'Sound off');
}

function beep() {
  if (!state.audio) return;
  const t = state.audio.currentTime;
  const osc = state.audio.createOscillator();
  const gain = state.audio.createGain();
  osc.frequency.setValueAtTime(880, t);
  osc.frequency.setValueAtTime(660, t + 0.18);
  gain.gain.setValueAtTime(0.2, t);
  gain.gain.exponentialRampToValueAtTime(0.001, t + 0.5);
  osc.connect(gain).connect(state.audio.destination);
  osc.start(t);
  osc.stop(t + 0.5);
}

// ---------------------------------------------------------------------------------------------
// A zone, and a sensor of it.

function openZone(zoneId) {
  state.openZone = zoneId;
  state.openSensor = null;
  $('sensor-detail').hidden = true;
  $('zone-panel').hidden = false;
  setText('zone-h', `Zone ${zoneId}`);
  if (state.city) renderZoneGrid(state.city.zones);
  pollZone().catch(() => undefined);
  $('zone-panel').scrollIntoView({ block: 'nearest' });
  $('zone-close').focus();
}

function closeZone() {
  state.openZone = null;
  $('zone-panel').hidden = true;
  if (state.city) renderZoneGrid(state.city.zones);
}

async function pollZone() {
  const zoneId = state.openZone;
  if (!zoneId) return;
  let view;
  try {
    view = await state.api(`/zones/${encodeURIComponent(zoneId)}`);
  } catch (error) {
    if (error.status === 404) {
      setText('zone-h', `Zone ${zoneId}: no sensor reports here any more`);
      return;
    }
    throw error;
  }
  if (state.openZone !== zoneId) return;
  const z = view.summary;
  $('zone-panel').dataset.zoneLevel = z.level;
  $('zone-summary').replaceChildren(
    ...[
      ['Level', badge(z.level)],
      ['Mean congestion', z.meanCongestion === null ? '–' : `${decimal(z.meanCongestion)} / 100`],
      ['Mean speed', z.meanSpeedKmh === null ? '–' : `${decimal(z.meanSpeedKmh)} km/h`],
      ['Vehicles', count(z.vehicles)],
      ['Sensors reporting', `${z.sensorsReporting} of ${z.sensorsExpected} (${z.sensorsLive} live)`],
      ['Data age', z.dataAgeMs === null ? '–' : age(z.dataAgeMs)],
    ].map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
  fillTable(
    'zone-sensors',
    'zone-sensors-empty',
    view.sensors.map((s) =>
      h(
        'tr',
        { dataset: { sensor: s.sensorId, level: s.alertLevel ?? s.level, state: s.state } },
        h('td', { className: 'mono' }, s.sensorId),
        h('td', {}, badge(s.alertLevel ?? s.level), s.state === 'LIVE' ? null : h('span', { className: 'state' }, ` ${s.state.toLowerCase()}`)),
        h('td', { className: 'num' }, decimal(s.congestionIndex)),
        h('td', { className: 'num wide-only' }, decimal(s.avgSpeedKmh)),
        h('td', { className: 'num wide-only' }, count(s.vehicleCount)),
        h('td', { className: 'num', dataset: { readingAt: String(s.readingAtMs) } }, age(s.ageMs)),
        h('td', {}, h('button', { type: 'button', className: 'link', onclick: () => openSensor(s.sensorId), 'aria-label': `Last hour of sensor ${s.sensorId}` }, 'Last hour')),
      ),
    ),
  );
  renderTrend(view.trend);
  if (state.openSensor) await pollSensor();
  state.renders += 1;
  document.body.dataset.renders = String(state.renders);
}

function renderTrend(trend) {
  const container = $('zone-trend');
  const points = trend ? trend.congestion.filter((v) => v !== null).length : 0;
  $('zone-trend-empty').hidden = points > 0;
  container.hidden = points === 0;
  if (points === 0) return;
  const data = [trend.t.map((t) => t / 1000), trend.congestion, trend.vehicles];
  container.setAttribute('aria-label', `Mean congestion and vehicles per minute over the last hour; latest congestion ${decimal(trend.congestion.filter((v) => v !== null).at(-1))}`);
  if (!state.trendChart) {
    const stroke = getComputedStyle(document.documentElement).getPropertyValue('--fg-muted').trim() || '#555';
    state.trendChart = new uPlot(
      {
        width: Math.max(200, container.clientWidth),
        height: 160,
        series: [{}, { label: 'congestion', stroke: '#b42318', width: 2, scale: 'c' }, { label: 'vehicles / min', stroke: '#2563eb', width: 1.5, scale: 'v' }],
        axes: [
          { stroke, values: (_u, ticks) => ticks.map((t) => CLOCK.format(new Date(t * 1000)).slice(0, 5)) },
          { scale: 'c', stroke, size: 40 },
          { scale: 'v', side: 1, stroke: '#2563eb', grid: { show: false }, size: 48 },
        ],
        scales: { x: { time: true }, c: { range: [0, 100] } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      container,
    );
    new ResizeObserver(() => state.trendChart.setSize({ width: Math.max(200, container.clientWidth), height: 160 })).observe(container);
  } else {
    state.trendChart.setData(data);
  }
}

function openSensor(sensorId) {
  state.openSensor = sensorId;
  $('sensor-detail').hidden = false;
  setText('sensor-h', `Sensor ${sensorId}: the last hour`);
  pollSensor().catch((error) => showNotice(`Could not read sensor ${sensorId}: ${error.message}`));
  $('sensor-close').focus();
}

function closeSensor() {
  state.openSensor = null;
  $('sensor-detail').hidden = true;
}

async function pollSensor() {
  const sensorId = state.openSensor;
  const { rollups } = await state.api(`/sensors/${encodeURIComponent(sensorId)}/rollups?minutes=60`);
  if (state.openSensor !== sensorId) return;
  fillTable(
    'sensor-rollups',
    'sensor-rollups-empty',
    [...rollups].reverse().map((r) =>
      h(
        'tr',
        {},
        h('td', { className: 'mono' }, CLOCK.format(new Date(r.windowStart))),
        h('td', { className: 'num' }, count(r.readings)),
        h('td', { className: 'num' }, `${decimal(r.congestion.mean)} / ${decimal(r.congestion.max)}`),
        h('td', { className: 'num' }, decimal(r.speedKmh.mean)),
        h('td', { className: 'num' }, count(r.vehicles.sum)),
        // Free text from the sensor: shown as text, whatever it holds.
        h('td', { className: 'weather' }, r.weather ?? ''),
      ),
    ),
  );
}

main().catch((error) => {
  showSignIn(`The console could not start: ${error.message}`);
});
