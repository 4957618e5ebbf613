import { describe, expect, it } from 'vitest';
import { parseSimulateArgs } from '../../../scripts/simulate';

describe('npm run simulate flags', () => {
  it('has defaults for a first run', () => {
    expect(parseSimulateArgs([])).toEqual({ sensors: 100, hz: 1, zones: 12, durationSeconds: undefined, scenario: 'rush-hour', port: 8080, json: undefined, out: undefined, device: undefined, build: false });
  });

  it('reads every flag', () => {
    expect(parseSimulateArgs(['--sensors', '2000', '--hz', '0.5', '--zones', '20', '--duration', '60', '--scenario', 'incident', '--port', '0', '--json', 'out.json', '--out', 'conn', '--device', 'sensor-00001', '--build'])).toEqual({
      sensors: 2000,
      hz: 0.5,
      zones: 20,
      durationSeconds: 60,
      scenario: 'incident',
      port: 0,
      json: 'out.json',
      out: 'conn',
      device: 'sensor-00001',
      build: true,
    });
  });

  it.each([
    [['--scenario', 'jam'], /--scenario takes one of rush-hour, incident, steady, got 'jam'/],
    [['--sensors', '0'], /--sensors takes a whole number from 1 to 20000, got '0'/],
    [['--sensors', '2.5'], /--sensors takes a whole number from 1 to 20000/],
    [['--hz', 'fast'], /--hz takes a number, got 'fast'/],
    [['--port', '70000'], /--port takes a whole number from 0 to 65535/],
    [['--duration', '1'], /--duration takes a number from 5 to 86400/],
    [['--zones', '50', '--sensors', '10'], /--zones \(50\) must not exceed --sensors \(10\)/],
    [['--fleet', '3'], /unknown flag --fleet; allowed: --sensors/],
    [['--device', 'sensor 1'], /--device takes a thing name \(1-128 of A-Z a-z 0-9 _ : -\), got 'sensor 1'/],
  ])('refuses %j naming the flag and what it takes', (argv, message) => {
    expect(() => parseSimulateArgs(argv)).toThrow(message);
  });
});
