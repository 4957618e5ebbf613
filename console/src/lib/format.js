// Number and time formats shared by the console and the simulator's panel.

export const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
export const CLOCK = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

export const count = (n) => (Number.isFinite(n) ? NUMBER.format(n) : '–');
/** Rates are averages over a few seconds: keep a decimal while they are small. */
export const rate = (n) => (Number.isFinite(n) && Math.abs(n) < 10 ? ONE_DECIMAL.format(n) : count(n));
export const decimal = (n) => (Number.isFinite(n) ? ONE_DECIMAL.format(n) : '–');

export function seconds(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "45 s", "3 min 07 s", "2 h 05 min". */
export function age(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
