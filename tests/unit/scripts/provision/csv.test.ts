import { describe, expect, it } from 'vitest';
import { CsvInputError, parseSensorsCsv, parseZonesCsv, type ZoneList } from '../../../../scripts/provision/csv';

const zones: ZoneList = { zones: new Set(['downtown', 'harbor']), origin: 'zones.csv' };
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof CsvInputError) return error.problems;
    throw error;
  }
  throw new Error('expected a CsvInputError');
};

describe('parseSensorsCsv', () => {
  it('reads valid rows with their row numbers, location as "lat,lon" and optional installed_at', () => {
    const rows = parseSensorsCsv(
      'sensor_id,zone_id,lat,lon,installed_at\nsensor-1,downtown,52.3702,4.8952,2024-05-01\n\n"sensor-2",harbor,+51.9,-0.5,\n',
      'sensors.csv',
      zones,
    );
    expect(rows).toEqual([
      { row: 2, sensorId: 'sensor-1', zoneId: 'downtown', lat: 52.3702, lon: 4.8952, location: '52.3702,4.8952', installedAt: '2024-05-01' },
      { row: 4, sensorId: 'sensor-2', zoneId: 'harbor', lat: 51.9, lon: -0.5, location: '51.9,-0.5', installedAt: '' },
    ]);
  });

  it('accepts a header without installed_at, in any column order, with a BOM', () => {
    const rows = parseSensorsCsv('\uFEFFlon,lat,zone_id,sensor_id\r\n4.9,52.4,downtown,a:b_c-1\r\n', 'sensors.csv', zones);
    expect(rows[0]).toMatchObject({ sensorId: 'a:b_c-1', installedAt: '', location: '52.4,4.9' });
  });

  it('names the row, field, value and what is allowed, one line per bad row', () => {
    const csv = [
      'sensor_id,zone_id,lat,lon,installed_at',
      'ok-1,downtown,10,10,',
      'bad id,downtown,10,10,', // row 3
      'ok-2,downtown,90.5,10,', // row 4
      'ok-3,downtown,10,-180.01,2024-02-30', // row 5: two problems, one line
      'ok-4,down.town,10,10,', // row 6
      'ok-5,downtown,1e1,10,2024-05-01T08:30:00+02:00', // row 7
    ].join('\n');
    const lines = problems(() => parseSensorsCsv(csv, 'sensors.csv', zones));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(
      "sensors.csv row 3: sensor_id 'bad id' is not a valid id; allowed: 1-128 characters of A-Z a-z 0-9 _ : - " +
        "(the processor's sensor id, without '.', which AWS IoT thing names reject)",
    );
    expect(lines[1]).toBe("sensors.csv row 4: lat '90.5' is out of range or not a number; allowed: a decimal number from -90 to 90");
    expect(lines[2]).toMatch(/^sensors\.csv row 5: lon '-180\.01' .*from -180 to 180; installed_at '2024-02-30' is not a date; allowed: /);
    expect(lines[3]).toMatch(/^sensors\.csv row 6: zone_id 'down\.town' is not a valid id; allowed: 1-64 characters/);
    expect(lines[4]).toMatch(/^sensors\.csv row 7: lat '1e1' .*; installed_at '2024-05-01T08:30:00\+02:00' is not a date; allowed: .*UTC date-time/);
  });

  it('rejects a duplicate sensor id, naming the row it first appeared on', () => {
    const csv = 'sensor_id,zone_id,lat,lon\ns-1,downtown,1,1\ns-2,downtown,1,1\ns-1,harbor,2,2\n';
    expect(problems(() => parseSensorsCsv(csv, 'sensors.csv', zones))).toEqual([
      "sensors.csv row 4: sensor_id 's-1' duplicates row 2; allowed: each sensor once",
    ]);
  });

  it('rejects zones that are not in the zone list, saying where the list came from', () => {
    const csv = 'sensor_id,zone_id,lat,lon\ns-1,uptown,1,1\n';
    expect(problems(() => parseSensorsCsv(csv, 'sensors.csv', zones))).toEqual([
      "sensors.csv row 2: zone_id 'uptown' is not a known zone; allowed: downtown, harbor (zones.csv)",
    ]);
    const many: ZoneList = { zones: new Set(Array.from({ length: 20 }, (_, i) => `z${String(i).padStart(2, '0')}`)), origin: 'registry' };
    expect(problems(() => parseSensorsCsv(csv, 'sensors.csv', many))[0]).toMatch(/z07, \.\.\. \(20 in all\) \(registry\)$/);
  });

  it('takes lat and lon as optional, both or neither (a sensor without them is not on the console map)', () => {
    const rows = parseSensorsCsv('sensor_id,zone_id,lat,lon\ns-1,downtown,,\ns-2,downtown,52.1,4.9\n', 'sensors.csv', zones);
    expect(rows[0]).toEqual({ row: 2, sensorId: 's-1', zoneId: 'downtown', location: '', installedAt: '' });
    expect(rows[1]).toMatchObject({ lat: 52.1, lon: 4.9, location: '52.1,4.9' });
    expect(parseSensorsCsv('sensor_id,zone_id\ns-3,harbor\n', 'sensors.csv', zones)[0]).toMatchObject({ sensorId: 's-3', location: '' });
    expect(problems(() => parseSensorsCsv('sensor_id,zone_id,lat,lon\ns-1,downtown,52.1,\n', 'sensors.csv', zones))).toEqual([
      "sensors.csv row 2: lat '52.1' and lon '' go together; allowed: both (the sensor's position) or neither",
    ]);
  });

  it('reports a bad header once, naming the missing, unknown and repeated columns', () => {
    expect(problems(() => parseSensorsCsv('sensor_id,zone,lat,lat\n', 'sensors.csv', zones))).toEqual([
      "sensors.csv row 1: header missing column(s) zone_id; unknown column(s) 'zone'; repeated column(s) lat; " +
        'allowed: sensor_id,zone_id then optionally lat,lon,installed_at',
    ]);
  });

  it('reports rows with the wrong number of fields, an empty file, a file without sensors and broken quoting', () => {
    expect(problems(() => parseSensorsCsv('sensor_id,zone_id,lat,lon\ns-1,downtown,1\n', 'f.csv', zones))).toEqual([
      'f.csv row 2: has 3 field(s), the header has 4; allowed: sensor_id,zone_id,lat,lon',
    ]);
    expect(problems(() => parseSensorsCsv('', 'f.csv', zones))).toEqual(['f.csv: is empty; expected a header row and at least one row']);
    expect(problems(() => parseSensorsCsv('sensor_id,zone_id,lat,lon\n', 'f.csv', zones))).toEqual(['f.csv: has a header but no sensors']);
    expect(problems(() => parseSensorsCsv('sensor_id,zone_id,lat,lon\n"s-1,downtown,1,1\n', 'f.csv', zones))[0]).toMatch(
      /^f\.csv row \d+: not valid CSV/,
    );
  });

  // Its speed is measured by `npx tsx scripts/bench/provision.bench.ts` (no timed assertions in tests).
  it('validates a whole 50,000-row fleet file', () => {
    const lines = ['sensor_id,zone_id,lat,lon,installed_at'];
    for (let i = 0; i < 50_000; i++) lines.push(`sensor-${i},${i % 2 ? 'downtown' : 'harbor'},52.${i},4.${i},2024-05-01`);
    const rows = parseSensorsCsv(lines.join('\n'), 'big.csv', zones);
    expect(rows).toHaveLength(50_000);
    expect(rows[49_999]).toMatchObject({ sensorId: 'sensor-49999', zoneId: 'downtown' });
  });
});

describe('parseZonesCsv', () => {
  it('reads zone ids and optional descriptions', () => {
    expect(parseZonesCsv('zone_id,description\ndowntown,"Centre, inside the ring"\nharbor,\n', 'zones.csv')).toEqual([
      { zoneId: 'downtown', description: 'Centre, inside the ring' },
      { zoneId: 'harbor', description: '' },
    ]);
  });
  it('rejects duplicate and invalid zone ids, one line per row', () => {
    expect(problems(() => parseZonesCsv('zone_id\ndowntown\ndown town\ndowntown\n', 'zones.csv'))).toEqual([
      expect.stringMatching(/^zones\.csv row 3: zone_id 'down town' is not a valid id; allowed: /),
      "zones.csv row 4: zone_id 'downtown' duplicates row 2; allowed: each zone once",
    ]);
  });
});
