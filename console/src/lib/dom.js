// DOM helpers shared by the console and the simulator's panel. Every piece of data reaches the DOM
// through textContent or an attribute, never through markup: ids, reasons and sensor text cannot
// inject anything.

export const $ = (id) => document.getElementById(id);

/** Creates an element; string children become text nodes (escaped by construction). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'className') el.className = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style') Object.assign(el.style, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function setText(id, text) {
  const el = typeof id === 'string' ? $(id) : id;
  if (el && el.textContent !== text) el.textContent = text;
}

/** A table's body from rows; the table hides and its empty note shows when there are none. */
export function fillTable(tableId, emptyId, rows) {
  $(tableId).tBodies[0].replaceChildren(...rows);
  $(tableId).hidden = rows.length === 0;
  $(emptyId).hidden = rows.length > 0;
}

/** A level as a badge: its colour and its word (colour is never the only carrier). */
export const badge = (level) => h('span', { className: 'badge', dataset: { level } }, level);
