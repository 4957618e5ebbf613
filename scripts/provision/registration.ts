/**
 * The bulk registration file and what the task reports back, per CSV row. Pure.
 *
 * The file is newline-delimited JSON, one device per line, each line holding every parameter of the
 * template (https://docs.aws.amazon.com/iot/latest/developerguide/bulk-provisioning.html). The keys
 * are exactly `bulkParameterNames(source)` of template/layers/provisioning.ts, which also builds the template.
 */
import { BULK_PARAMETERS, bulkParameterNames, type BulkCertificateSource } from '../../template/layers/provisioning';
import type { SensorRow } from './csv';

export interface DeviceRegistration {
  sensor: SensorRow;
  /** PEM CSR, when AWS IoT signs (source kind 'csr'). */
  csrPem?: string;
  /** PEM certificate signed locally (source kind 'certificate'). */
  certificatePem?: string;
}

/** One registration line: the template's parameters, in the template's order. */
export function registrationLine(device: DeviceRegistration, source: BulkCertificateSource): string {
  const p = BULK_PARAMETERS;
  const s = device.sensor;
  const certificate = source.kind === 'csr' ? device.csrPem : device.certificatePem;
  if (!certificate) throw new Error(`row ${s.row} (${s.sensorId}): no ${source.kind === 'csr' ? 'CSR' : 'certificate'} to register`);
  const values: Record<string, string> = {
    [p.thingName]: s.sensorId,
    [p.zone]: s.zoneId,
    [p.location]: s.location,
    [p.installedAt]: s.installedAt,
    [source.kind === 'csr' ? p.csr : p.certificatePem]: certificate,
  };
  return JSON.stringify(Object.fromEntries(bulkParameterNames(source).map((k) => [k, values[k]])));
}

export interface RegistrationFile {
  body: string;
  /** Byte offset at which each device's line starts, for matching report entries that give offsets. */
  offsets: number[];
}

export function registrationFile(devices: DeviceRegistration[], source: BulkCertificateSource): RegistrationFile {
  const offsets: number[] = [];
  let offset = 0;
  const lines = devices.map((d) => {
    const line = registrationLine(d, source);
    offsets.push(offset);
    offset += Buffer.byteLength(line) + 1;
    return line;
  });
  return { body: `${lines.join('\n')}\n`, offsets };
}

export interface RowOutcome {
  row: number;
  sensorId: string;
  registered: boolean;
  /** Why it failed, or the thing ARN when registered. */
  detail: string;
  /** Certificate AWS IoT issued from the CSR (RESULTS report), to hand to the device. */
  certificatePem?: string;
}

/**
 * Per-row outcome from the task's reports. The report files are not specified in the API reference;
 * AWS's own workshop reads a RESULTS line as `{"response": {"CertificatePem": ..., "ResourceArns":
 * {"thing": "arn:...:thing/<name>", ...}}}` (aws-samples/aws-iot-device-management-workshop,
 * bin/bulk-result.py). So results are matched by thing name; an ERRORS entry by its byte `offset`
 * or 0-based `lineNumber` when it carries one. A row in neither report is reported as unconfirmed.
 */
export function rowOutcomes(
  devices: DeviceRegistration[],
  file: RegistrationFile,
  results: string[],
  errors: string[],
): { rows: RowOutcome[]; unmatchedErrors: string[] } {
  const bySensor = new Map(devices.map((d, i) => [d.sensor.sensorId, i]));
  const byOffset = new Map(file.offsets.map((o, i) => [o, i]));
  const outcome: (RowOutcome | undefined)[] = new Array(devices.length);
  for (const line of results) {
    const entry = parseJson(line) as { response?: { CertificatePem?: string; ResourceArns?: Record<string, string> } } | undefined;
    const thingArn = entry?.response?.ResourceArns?.thing;
    const index = thingArn ? bySensor.get(thingArn.slice(thingArn.lastIndexOf('/') + 1)) : undefined;
    if (index === undefined) continue;
    const d = devices[index]!;
    outcome[index] = {
      row: d.sensor.row,
      sensorId: d.sensor.sensorId,
      registered: true,
      detail: thingArn!,
      ...(entry?.response?.CertificatePem ? { certificatePem: entry.response.CertificatePem } : {}),
    };
  }
  const unmatchedErrors: string[] = [];
  for (const line of errors) {
    const entry = parseJson(line) as Record<string, unknown> | undefined;
    const index =
      typeof entry?.offset === 'number' ? byOffset.get(entry.offset) : typeof entry?.lineNumber === 'number' ? entry.lineNumber : undefined;
    const message = errorMessage(entry) ?? line.trim();
    if (index === undefined || !devices[index] || outcome[index]?.registered) {
      if (line.trim()) unmatchedErrors.push(message);
      continue;
    }
    const d = devices[index];
    outcome[index] = { row: d.sensor.row, sensorId: d.sensor.sensorId, registered: false, detail: message };
  }
  const rows = devices.map(
    (d, i) =>
      outcome[i] ?? {
        row: d.sensor.row,
        sensorId: d.sensor.sensorId,
        registered: false,
        detail: 'in neither the RESULTS nor the ERRORS report: check the thing in the console before re-running',
      },
  );
  return { rows, unmatchedErrors };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function errorMessage(entry: Record<string, unknown> | undefined): string | undefined {
  for (const key of ['errorMessage', 'message', 'error', 'errorCode']) {
    const v = entry?.[key];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

/** The per-row report written next to the keys: row, sensor_id, status, detail. */
export function outcomeCsv(rows: RowOutcome[]): string {
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return ['row,sensor_id,status,detail', ...rows.map((r) => [String(r.row), r.sensorId, r.registered ? 'registered' : 'failed', r.detail].map(cell).join(','))].join('\n') + '\n';
}

export interface TaskProgress {
  status?: string;
  percentageProgress?: number;
  successCount?: number;
  failureCount?: number;
  message?: string;
}

/** One progress line: `task 1a2b: InProgress 45% | 22,480 registered, 20 failed of 50,000`. */
export function progressLine(taskId: string, p: TaskProgress, total: number): string {
  const n = (v: number | undefined) => (v ?? 0).toLocaleString('en-US');
  return (
    `task ${taskId}: ${p.status ?? '?'} ${p.percentageProgress ?? 0}% | ${n(p.successCount)} registered, ` +
    `${n(p.failureCount)} failed of ${total.toLocaleString('en-US')}${p.message ? ` | ${p.message}` : ''}`
  );
}
