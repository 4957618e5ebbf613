/**
 * npx tsx scripts/bench/provision.bench.ts [devices=2000] [rows=50000]
 * Measures what `npm run provision` does locally for a fleet: CSV validation, device key + CSR,
 * local signing, the registration file. Nothing is written and nothing talks to AWS.
 */
import 'reflect-metadata';
import { createDeviceCredentials, loadCa, signCsr } from '../provision/certs';
import { parseSensorsCsv } from '../provision/csv';
import { registrationFile } from '../provision/registration';
import { makeBenchCa } from './provision-ca';

const devices = Number(process.argv[2] ?? 2_000);
const rows = Number(process.argv[3] ?? 50_000);
const CONCURRENCY = 8;

async function pool<T>(n: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) { const i = next++; out[i] = await work(i); }
  }));
  return out;
}

const lines = ['sensor_id,zone_id,lat,lon,installed_at'];
for (let i = 0; i < rows; i++) lines.push(`sensor-${String(i).padStart(5, '0')},zone-${i % 200},52.${i % 10_000},4.${i % 10_000},2024-05-01`);
const zones = { zones: new Set(Array.from({ length: 200 }, (_, i) => `zone-${i}`)), origin: 'bench' };
let t = performance.now();
const sensors = parseSensorsCsv(lines.join('\n'), 'bench.csv', zones);
console.log(`CSV validation: ${rows.toLocaleString('en-US')} rows in ${(performance.now() - t).toFixed(0)} ms`);

const sample = sensors.slice(0, devices);
t = performance.now();
const made = await pool(devices, (i) => createDeviceCredentials({ sensorId: sample[i]!.sensorId, zoneId: sample[i]!.zoneId, location: sample[i]!.location }));
const keyMs = (performance.now() - t) / devices;
const { certificatePem, keyPem } = await makeBenchCa();
const ca = await loadCa(certificatePem, keyPem, new Date());
t = performance.now();
const signed = await pool(devices, async (i) => (await signCsr(made[i]!.csr, ca, { now: new Date(), validityDays: 1826 })).toString('pem'));
const signMs = (performance.now() - t) / devices;
console.log(`device key + CSR: ${keyMs.toFixed(2)} ms each; local signing: ${signMs.toFixed(2)} ms each (${devices} devices, ${CONCURRENCY} in flight)`);
console.log(`50,000 devices: ~${((keyMs + signMs) * 50).toFixed(0)} s to make and sign, ~${(keyMs * 50).toFixed(0)} s for keys + CSRs only`);

t = performance.now();
const file = registrationFile(sample.map((sensor, i) => ({ sensor, certificatePem: signed[i]! })), { kind: 'certificate', caCertificatePem: certificatePem });
const bytesPerLine = Buffer.byteLength(file.body) / devices;
console.log(`registration file: ${(performance.now() - t).toFixed(0)} ms for ${devices} lines, ${bytesPerLine.toFixed(0)} bytes a line (~${((bytesPerLine * 50_000) / 1e6).toFixed(0)} MB for 50,000)`);
