// The silent-sensors panel, shared by the console and the simulator's panel: its heading, the rule
// that makes a sensor silent, the table and its empty note (made inside the page's section), and
// its rows, the longest silent first, at most `maxRows` and a line for the rest.
import { $, fillTable, h, setText } from './dom.js';
import { age, count } from './format.js';

/** Makes the panel inside the section with id `sectionId`; `rule` says when a sensor counts as silent. */
export function silentPanel(sectionId, rule) {
  const section = $(sectionId);
  section.setAttribute('aria-labelledby', 'silent-h');
  const header = (text, className) => h('th', { scope: 'col', className }, text);
  section.replaceChildren(
    h('h2', { id: 'silent-h' }, 'Silent sensors ', h('span', { className: 'count', id: 'silent-count' })),
    h('p', { className: 'hint' }, rule),
    h('table', { id: 'silent', className: 'data' }, h('thead', {}, h('tr', {}, header('Sensor'), header('Zone'), header('Silent for', 'num'))), h('tbody')),
    h('p', { className: 'empty', id: 'silent-empty' }, 'Every sensor is reporting.'),
  );
}

/**
 * The panel's rows from `sensors` ({ sensorId, zoneId, silentForMs }); `total` is how many are
 * silent in all (more than `sensors` when the source sent only the first ones).
 */
export function fillSilent(sensors, total, maxRows) {
  const shown = [...sensors].sort((a, b) => b.silentForMs - a.silentForMs).slice(0, maxRows);
  const rows = shown.map((s) => h('tr', {}, h('td', { className: 'mono' }, s.sensorId), h('td', {}, s.zoneId), h('td', { className: 'num' }, age(s.silentForMs))));
  if (total > shown.length) rows.push(h('tr', {}, h('td', { colspan: 3, className: 'more' }, `and ${count(total - shown.length)} more`)));
  fillTable('silent', 'silent-empty', rows);
  setText('silent-count', `(${count(total)})`);
}
