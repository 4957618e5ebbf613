// The schematic city: zones as cells of a grid laid out by their centres, north at the top. Shared
// by the console's zone list and the simulator's panel.

/**
 * Rows and columns from the zones' coordinates: each distinct latitude a row (north at the top),
 * each distinct longitude a column, when the zones sit on a grid; otherwise latitude and longitude
 * are binned into about √n bands each and a zone that lands on a taken cell moves to the next free
 * one in its row (then the rows below). Zones without a centre follow, in id order.
 */
export function gridLayout(zones) {
  const placedZones = zones.filter((z) => Number.isFinite(z.lat) && Number.isFinite(z.lon));
  const unplaced = zones.filter((z) => !(Number.isFinite(z.lat) && Number.isFinite(z.lon)));
  const key = (v) => Math.round(v * 1e4);
  const lats = [...new Set(placedZones.map((z) => key(z.lat)))].sort((a, b) => b - a);
  const lons = [...new Set(placedZones.map((z) => key(z.lon)))].sort((a, b) => a - b);
  const side = Math.max(1, Math.ceil(Math.sqrt(zones.length)));
  const regular = placedZones.length > 0 && lats.length * lons.length <= Math.max(4, 2 * placedZones.length);
  const band = (values, v, n, descending) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    if (hi === lo) return 0;
    const f = (v - lo) / (hi - lo);
    return Math.min(n - 1, Math.floor((descending ? 1 - f : f) * n));
  };
  const columns = regular ? Math.max(lons.length, 1) : side;
  const rows = regular ? lats.length : side;
  const taken = new Set();
  const place = (z, cell) => {
    while (taken.has(cell)) cell += 1;
    taken.add(cell);
    return { zone: z, row: Math.floor(cell / columns), column: cell % columns };
  };
  const placed = placedZones.map((z) => {
    const row = regular ? lats.indexOf(key(z.lat)) : band(lats, key(z.lat), rows, true);
    const column = regular ? lons.indexOf(key(z.lon)) : band(lons, key(z.lon), columns, false);
    return place(z, row * columns + column);
  });
  let next = 0;
  for (const z of unplaced) placed.push(place(z, (next = Math.max(next, ...[...taken].map((c) => c + 1), 0))));
  return { columns, placed };
}

/** How much a cell of this many pixels shows: everything, less, or colour and id only. */
export const densityOf = (cellPx) => (cellPx < 60 ? 'tiny' : cellPx < 125 ? 'dense' : 'roomy');
