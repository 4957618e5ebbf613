/**
 * The sensors CSV and the zones CSV of `npm run provision`, validated before anything is registered.
 * Pure: text in, rows and problems out. csv-parse does the CSV (quotes, BOM, line endings).
 *
 * A problem is one line per bad row: `<file> row <n>: <field> '<value>' <what is wrong>; allowed: <what is>`,
 * the row being the line of the file as a spreadsheet numbers it (the header is row 1).
 */
import { CsvError, parse } from 'csv-parse/sync';
import { ID_PATTERN, ZONE_PATTERN } from '../../contract';

export class CsvInputError extends Error {
  override name = 'CsvInputError';
  constructor(readonly problems: string[]) {
    super(`${problems.length} problem(s); nothing was registered:\n${problems.join('\n')}`);
  }
}

/** lat and lon are optional (a sensor without them is listed in its zone, not placed on the console's map); both or neither. */
export const SENSOR_COLUMNS = { required: ['sensor_id', 'zone_id'], optional: ['lat', 'lon', 'installed_at'] } as const;
export const ZONE_COLUMNS = { required: ['zone_id'], optional: ['description'] } as const;

/**
 * AWS IoT thing and thing-group names allow only `[a-zA-Z0-9:_-]`, 1-128 characters
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html,
 * https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThingGroup.html): the processor's
 * id patterns also allow '.', which the registry would reject, so both must hold.
 */
const IOT_NAME = /^[a-zA-Z0-9:_-]+$/;
export const ALLOWED = {
  sensorId: "1-128 characters of A-Z a-z 0-9 _ : - (the processor's sensor id, without '.', which AWS IoT thing names reject)",
  zoneId: "1-64 characters of A-Z a-z 0-9 _ : - (the processor's zone id, without '.', which AWS IoT thing group names reject)",
  lat: 'a decimal number from -90 to 90',
  lon: 'a decimal number from -180 to 180',
  installedAt: 'empty, an ISO-8601 date (2024-05-01) or a UTC date-time (2024-05-01T08:30:00Z)',
} as const;

const DECIMAL = /^[+-]?\d{1,3}(\.\d{1,12})?$/;
const INSTALLED_AT = /^(\d{4})-(\d{2})-(\d{2})(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?Z)?$/;

export interface SensorRow {
  /** The CSV row (line) the sensor came from. */
  row: number;
  sensorId: string;
  zoneId: string;
  /** Absent when the CSV gives no position for the sensor. */
  lat?: number;
  lon?: number;
  /** "lat,lon" as written (a leading '+' dropped: attribute values do not allow it); '' without a position. */
  location: string;
  /** '' when the CSV has no installed_at or leaves it empty. */
  installedAt: string;
}

interface CsvRecord {
  row: number;
  fields: string[];
}

const show = (value: string) => `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;

/** Parses CSV text into the header and records with their row numbers, or throws one problem line. */
function records(text: string, file: string): { header: string[]; rows: CsvRecord[] } {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }) as never;
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines;
      throw new CsvInputError([`${file} row ${line ?? '?'}: not valid CSV (${error.message.replace(/^Invalid [^:]*: /, '')})`]);
    }
    throw error;
  }
  const [first, ...rest] = parsed;
  if (!first) throw new CsvInputError([`${file}: is empty; expected a header row and at least one row`]);
  return { header: first.record, rows: rest.map((r) => ({ row: r.info.lines, fields: r.record })) };
}

/** Maps column name → index, or throws the header's problems as one line. */
function columns(header: string[], spec: { required: readonly string[]; optional: readonly string[] }, file: string) {
  const allowed = [...spec.required, ...spec.optional];
  const problems: string[] = [];
  const missing = spec.required.filter((c) => !header.includes(c));
  if (missing.length) problems.push(`missing column(s) ${missing.join(', ')}`);
  const unknown = header.filter((c) => !allowed.includes(c));
  if (unknown.length) problems.push(`unknown column(s) ${unknown.map(show).join(', ')}`);
  const repeated = header.filter((c, i) => header.indexOf(c) !== i);
  if (repeated.length) problems.push(`repeated column(s) ${[...new Set(repeated)].join(', ')}`);
  if (problems.length) {
    throw new CsvInputError([
      `${file} row 1: header ${problems.join('; ')}; allowed: ${spec.required.join(',')} then optionally ${spec.optional.join(',')}`,
    ]);
  }
  return Object.fromEntries(header.map((c, i) => [c, i])) as Record<string, number>;
}

/** Names a zone list in messages without printing hundreds of zones. */
function describeZones(zones: ReadonlySet<string>, origin: string): string {
  const list = [...zones].sort();
  const shown = list.slice(0, 8).join(', ');
  return `${list.length > 8 ? `${shown}, ... (${list.length} in all)` : shown || 'none'} (${origin})`;
}

function checkId(value: string, pattern: RegExp, field: string, allowed: string): string | undefined {
  return pattern.test(value) && IOT_NAME.test(value) ? undefined : `${field} ${show(value)} is not a valid id; allowed: ${allowed}`;
}

function checkCoordinate(value: string, field: 'lat' | 'lon', limit: number): string | undefined {
  const n = Number(value);
  if (!DECIMAL.test(value) || Math.abs(n) > limit) return `${field} ${show(value)} is out of range or not a number; allowed: ${ALLOWED[field]}`;
  return undefined;
}

function checkInstalledAt(value: string): string | undefined {
  if (value === '') return undefined;
  const m = INSTALLED_AT.exec(value);
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (!m || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    return `installed_at ${show(value)} is not a date; allowed: ${ALLOWED.installedAt}`;
  }
  return undefined;
}

export interface ZoneList {
  zones: ReadonlySet<string>;
  /** Where the list came from, for messages: "zones.csv" or "thing groups under tapstack-zones". */
  origin: string;
}

/**
 * Validates the sensors CSV: header, ids (the processor's patterns and AWS IoT's names), lat/lon
 * ranges, installed_at, duplicate sensor ids, and zones against `zones` when given.
 * @throws CsvInputError listing one line per bad row (and per header or CSV syntax problem).
 */
export function parseSensorsCsv(text: string, file: string, zones?: ZoneList): SensorRow[] {
  const { header, rows } = records(text, file);
  const col = columns(header, SENSOR_COLUMNS, file);
  if (rows.length === 0) throw new CsvInputError([`${file}: has a header but no sensors`]);
  const problems: string[] = [];
  const firstRowOf = new Map<string, number>();
  const sensors: SensorRow[] = [];
  for (const { row, fields } of rows) {
    if (fields.length !== header.length) {
      problems.push(`${file} row ${row}: has ${fields.length} field(s), the header has ${header.length}; allowed: ${header.join(',')}`);
      continue;
    }
    const get = (name: string) => (col[name] === undefined ? '' : fields[col[name]!]!);
    const sensorId = get('sensor_id');
    const zoneId = get('zone_id');
    const [lat, lon, installedAt] = [get('lat'), get('lon'), get('installed_at')];
    const rowProblems = [
      checkId(sensorId, ID_PATTERN, 'sensor_id', ALLOWED.sensorId),
      checkId(zoneId, ZONE_PATTERN, 'zone_id', ALLOWED.zoneId),
      ...(lat === '' && lon === ''
        ? []
        : lat === '' || lon === ''
          ? [`lat ${show(lat)} and lon ${show(lon)} go together; allowed: both (the sensor's position) or neither`]
          : [checkCoordinate(lat, 'lat', 90), checkCoordinate(lon, 'lon', 180)]),
      checkInstalledAt(installedAt),
    ].filter((p): p is string => p !== undefined);
    const earlier = firstRowOf.get(sensorId);
    if (earlier !== undefined) rowProblems.push(`sensor_id ${show(sensorId)} duplicates row ${earlier}; allowed: each sensor once`);
    else firstRowOf.set(sensorId, row);
    if (zones && zoneId && !zones.zones.has(zoneId) && !rowProblems.some((p) => p.startsWith('zone_id'))) {
      rowProblems.push(`zone_id ${show(zoneId)} is not a known zone; allowed: ${describeZones(zones.zones, zones.origin)}`);
    }
    if (rowProblems.length) {
      problems.push(`${file} row ${row}: ${rowProblems.join('; ')}`);
      continue;
    }
    const plain = (v: string) => v.replace(/^\+/, '');
    sensors.push({
      row,
      sensorId,
      zoneId,
      ...(lat === '' ? {} : { lat: Number(lat), lon: Number(lon) }),
      location: lat === '' ? '' : `${plain(lat)},${plain(lon)}`,
      installedAt,
    });
  }
  if (problems.length) throw new CsvInputError(problems);
  return sensors;
}

export interface Zone {
  zoneId: string;
  description: string;
}

/**
 * Validates the zones CSV (zone_id, optional description): the city's zones, one thing group each.
 * @throws CsvInputError listing one line per bad row.
 */
export function parseZonesCsv(text: string, file: string): Zone[] {
  const { header, rows } = records(text, file);
  const col = columns(header, ZONE_COLUMNS, file);
  const problems: string[] = [];
  const firstRowOf = new Map<string, number>();
  const zones: Zone[] = [];
  for (const { row, fields } of rows) {
    if (fields.length !== header.length) {
      problems.push(`${file} row ${row}: has ${fields.length} field(s), the header has ${header.length}; allowed: ${header.join(',')}`);
      continue;
    }
    const zoneId = fields[col.zone_id!]!;
    const description = col.description === undefined ? '' : fields[col.description]!;
    const rowProblems = [checkId(zoneId, ZONE_PATTERN, 'zone_id', ALLOWED.zoneId)].filter((p): p is string => p !== undefined);
    const earlier = firstRowOf.get(zoneId);
    if (earlier !== undefined) rowProblems.push(`zone_id ${show(zoneId)} duplicates row ${earlier}; allowed: each zone once`);
    else firstRowOf.set(zoneId, row);
    if (rowProblems.length) problems.push(`${file} row ${row}: ${rowProblems.join('; ')}`);
    else zones.push({ zoneId, description });
  }
  if (problems.length) throw new CsvInputError(problems);
  if (zones.length === 0) throw new CsvInputError([`${file}: has a header but no zones`]);
  return zones;
}
