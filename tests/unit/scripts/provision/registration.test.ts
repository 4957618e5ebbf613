import { describe, expect, it } from 'vitest';
import type { SensorRow } from '../../../../scripts/provision/csv';
import { outcomeCsv, progressLine, registrationFile, registrationLine, rowOutcomes, type DeviceRegistration } from '../../../../scripts/provision/registration';
import { bulkParameterNames } from '../../../../template/layers/provisioning';

const sensor = (row: number, sensorId: string): SensorRow => ({
  row,
  sensorId,
  zoneId: 'downtown',
  lat: 52.37,
  lon: 4.89,
  location: '52.37,4.89',
  installedAt: row % 2 ? '2024-05-01' : '',
});

describe('registration file', () => {
  const devices: DeviceRegistration[] = [
    { sensor: sensor(2, 's-1'), csrPem: 'CSR-1' },
    { sensor: sensor(3, 's-2'), csrPem: 'CSR-2' },
  ];

  it('has one JSON object per line whose keys are exactly the template parameters, in order', () => {
    const file = registrationFile(devices, { kind: 'csr' });
    const lines = file.body.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((l) => JSON.parse(l))).toEqual([
      { ThingName: 's-1', Zone: 'downtown', Location: '52.37,4.89', InstalledAt: '', CSR: 'CSR-1' },
      { ThingName: 's-2', Zone: 'downtown', Location: '52.37,4.89', InstalledAt: '2024-05-01', CSR: 'CSR-2' },
    ]);
    for (const line of lines.slice(0, -1)) expect(Object.keys(JSON.parse(line))).toEqual(bulkParameterNames({ kind: 'csr' }));
    expect(file.offsets).toEqual([0, Buffer.byteLength(lines[0]!) + 1]);
  });

  it('carries the certificate instead of the CSR when signed locally, and refuses a device without one', () => {
    const source = { kind: 'certificate', caCertificatePem: 'CA' } as const;
    expect(Object.keys(JSON.parse(registrationLine({ sensor: sensor(2, 's'), certificatePem: 'PEM' }, source)))).toEqual(
      bulkParameterNames(source),
    );
    expect(() => registrationLine({ sensor: sensor(7, 's-7'), csrPem: 'CSR' }, source)).toThrow('row 7 (s-7): no certificate to register');
  });

  it('matches RESULTS by thing name and ERRORS by offset or line number, and flags rows in neither', () => {
    const four = [...devices, { sensor: sensor(4, 's-3'), csrPem: 'C' }, { sensor: sensor(5, 's-4'), csrPem: 'C' }];
    const file = registrationFile(four, { kind: 'csr' });
    const results = [JSON.stringify({ response: { CertificatePem: 'CERT-1', ResourceArns: { thing: 'arn:aws:iot:r:1:thing/s-1' } } })];
    const errors = [
      JSON.stringify({ offset: file.offsets[1], errorMessage: 'InvalidRequestException: bad CSR' }),
      JSON.stringify({ lineNumber: 2, message: 'ResourceConflict' }),
      'something else entirely',
    ];
    const { rows, unmatchedErrors } = rowOutcomes(four, file, results, errors);
    expect(rows).toEqual([
      { row: 2, sensorId: 's-1', registered: true, detail: 'arn:aws:iot:r:1:thing/s-1', certificatePem: 'CERT-1' },
      { row: 3, sensorId: 's-2', registered: false, detail: 'InvalidRequestException: bad CSR' },
      { row: 4, sensorId: 's-3', registered: false, detail: 'ResourceConflict' },
      { row: 5, sensorId: 's-4', registered: false, detail: expect.stringMatching(/^in neither the RESULTS nor the ERRORS report/) },
    ]);
    expect(unmatchedErrors).toEqual(['something else entirely']);
    expect(outcomeCsv(rows).split('\n')[0]).toBe('row,sensor_id,status,detail');
  });

  it('says progress in one line', () => {
    expect(progressLine('t1', { status: 'InProgress', percentageProgress: 45, successCount: 22_480, failureCount: 20 }, 50_000)).toBe(
      'task t1: InProgress 45% | 22,480 registered, 20 failed of 50,000',
    );
  });
});
