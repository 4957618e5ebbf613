/**
 * npm run provision -- --env E --csv sensors.csv [--zones zones.csv] [--ca-cert ca.pem --ca-key ca.key] [--csr-dir DIR]
 *                      [--dry-run] [--stack-name S] [--bucket B] [--out DIR] [--region R]
 * npm run provision -- --env E --zones zones.csv                 (create the zone thing groups, e.g. before JITP)
 * npm run provision -- --env E --revoke sensor-123 [--status REVOKED|INACTIVE]
 * npm run provision -- --env E --rotate sensor-123 [--csr new.csr] [--ca-cert ca.pem --ca-key ca.key]
 * npm run provision -- --env E --verification-cert out.pem --ca-cert ca.pem --ca-key ca.key
 *
 * Bulk registration: validates the CSV (nothing is registered when any row is bad), makes or reads
 * the certificates locally, uploads the registration file, runs StartThingRegistrationTask and
 * reports every row. Private keys are made here and written only to --out (git-ignored, mode 0600).
 * Talks to AWS_ENDPOINT_URL when set (moto in tests). See docs/provisioning.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { IoTClient } from '@aws-sdk/client-iot';
import { bulkParameterNames, bulkTemplateBody, MAX_TEMPLATE_BODY_CHARS, REGISTRATION_PREFIX, THING_LAYOUT, type BulkCertificateSource } from '../template/layers/provisioning';
import { assertCredentials, awsTarget, type AwsTarget } from './aws';
import { ROOT } from './lib/paths';
import { numberFlag, parseFlags, runMain, unreadableAnswer, UsageError } from './cli';
import { s3Client } from './package';
import {
  commonName,
  createDeviceCredentials,
  DEFAULT_VALIDITY_DAYS,
  loadCa,
  readCsr,
  signCsr,
  verificationCertificate,
} from './provision/certs';
import { CsvInputError, parseSensorsCsv, parseZonesCsv, type SensorRow, type Zone, type ZoneList } from './provision/csv';
import {
  ensureZoneGroups,
  httpGet,
  ProvisionError,
  registrationCode,
  reportLines,
  REVOKE_STATUSES,
  revokeSensor,
  rotateCertificate,
  stackOutputs,
  startRegistrationTask,
  uploadRegistrationFile,
  waitForTask,
  zoneGroups,
  type RevokeStatus,
} from './provision/iot';
import { outcomeCsv, progressLine, registrationFile, rowOutcomes, type DeviceRegistration } from './provision/registration';

/** Git-ignored. Keys, certificates, registration files and per-row reports, per environment. */
export const DEFAULT_OUT_DIR = join(ROOT, 'provisioning-out');
/** Key and certificate work in flight at once: WebCrypto runs on libuv's thread pool. */
const CRYPTO_CONCURRENCY = 8;
const POLL_INTERVAL_MS = 5_000;

export interface ProvisionIo {
  print: (line: string) => void;
  /** Rewrites the current line on a terminal; prints a line otherwise. */
  progress: (line: string) => void;
  now: () => Date;
  download: (url: string) => Promise<string>;
  sleep?: (ms: number) => Promise<void>;
  pollIntervalMs?: number;
}

const consoleIo: ProvisionIo = {
  print: (line) => console.log(line),
  progress: (line) => (process.stdout.isTTY ? process.stdout.write(`\r${line.padEnd(100)}`) : console.log(line)),
  now: () => new Date(),
  download: httpGet,
};

const clients = (target: AwsTarget) => {
  const endpoint = target.endpoint ? { endpoint: target.endpoint } : {};
  return {
    iot: new IoTClient({ region: target.region, ...endpoint }),
    cfn: new CloudFormationClient({ region: target.region, ...endpoint }),
    s3: s3Client(target),
  };
};

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
async function mapLimit<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Writes a file readable by its owner only, in a directory only its owner can enter. */
function writePrivate(path: string, text: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

const read = (path: string, flag: string) => {
  if (!existsSync(path)) throw new UsageError(`provision: ${flag} ${path} does not exist`);
  return readFileSync(path, 'utf8');
};

const stamp = (now: Date) => now.toISOString().replace(/[:.]/g, '-');

export async function provision(argv: string[], io: ProvisionIo = consoleIo): Promise<{ exitCode: number }> {
  const flags = parseFlags('provision', argv, {
    env: { type: 'string', help: 'environment, e.g. dev or prod (stack tapstack-<env>)', required: true },
    csv: { type: 'string', help: 'sensors CSV: sensor_id,zone_id,lat,lon[,installed_at]' },
    zones: { type: 'string', help: 'zones CSV: zone_id[,description]; default: the zone thing groups in the registry' },
    'ca-cert': { type: 'string', help: 'PEM of the CA that signs device certificates locally' },
    'ca-key': { type: 'string', help: 'its private key (PEM)' },
    'csr-dir': { type: 'string', help: 'folder of <sensor_id>.csr files (PEM CSRs made on the devices)' },
    'dry-run': { type: 'boolean', help: 'validate and print what would be done' },
    'stack-name': { type: 'string', help: 'stack name, default tapstack-<env>' },
    bucket: { type: 'string', help: "S3 bucket for the registration file, default the stack's RawDataBucketName" },
    out: { type: 'string', help: 'output folder for keys, certificates and reports, default provisioning-out/<env>' },
    'validity-days': { type: 'string', help: `days a locally signed certificate is valid, default ${DEFAULT_VALIDITY_DAYS}` },
    revoke: { type: 'string', help: 'sensor id whose certificates to revoke' },
    rotate: { type: 'string', help: "sensor id to give a new certificate (next to its current one): an existing sensor's only path to a new certificate" },
    csr: { type: 'string', help: 'for --rotate: the PEM CSR the device made (default: a new key and CSR made here)' },
    status: { type: 'string', help: `status for --revoke: ${REVOKE_STATUSES.join(' | ')} (default REVOKED)` },
    'verification-cert': { type: 'string', help: 'write the CA verification certificate (for DeviceCaVerificationCertificatePem) to this file' },
    region: { type: 'string', help: 'AWS region' },
  });
  const env = flags.env!;
  if (!/^[a-z0-9]{1,12}$/.test(env)) throw new UsageError(`provision: --env '${env}' must be 1-12 lowercase letters or digits`);
  const stackName = flags['stack-name'] ?? `tapstack-${env}`;
  const target = awsTarget(flags.region);
  const outDir = resolve(flags.out ?? join(DEFAULT_OUT_DIR, env));
  const modes = (['csv', 'revoke', 'rotate', 'verification-cert'] as const).filter((m) => flags[m] !== undefined);
  if (modes.length > 1) throw new UsageError(`provision: --${modes.join(' and --')} are separate tasks; give one`);
  if ((flags['ca-cert'] === undefined) !== (flags['ca-key'] === undefined)) {
    throw new UsageError('provision: --ca-cert and --ca-key go together (the CA certificate and its private key)');
  }

  if (flags.revoke !== undefined) {
    const status = (flags.status ?? 'REVOKED') as RevokeStatus;
    if (!REVOKE_STATUSES.includes(status)) throw new UsageError(`provision: --status '${flags.status}' is not one of ${REVOKE_STATUSES.join(', ')}`);
    await assertCredentials();
    const actions = await revokeSensor(clients(target).iot, flags.revoke, status);
    for (const line of actions) io.print(`${flags.revoke}: ${line}`);
    io.print(`${flags.revoke}: the thing keeps its attributes and zone group; attach a new certificate to bring the sensor back`);
    return { exitCode: 0 };
  }

  if (flags.rotate !== undefined) {
    return rotate({ sensorId: flags.rotate, csrFile: flags.csr, caCert: flags['ca-cert'], caKey: flags['ca-key'], env, stackName, outDir, target, io, validityDays: numberFlag('provision', 'validity-days', flags['validity-days'], DEFAULT_VALIDITY_DAYS) });
  }
  if (flags.csr !== undefined) throw new UsageError('provision: --csr goes with --rotate (for many sensors, --csr-dir with --csv)');

  if (flags['verification-cert'] !== undefined) {
    if (!flags['ca-cert']) throw new UsageError('provision: --verification-cert needs --ca-cert and --ca-key');
    const ca = await loadCa(read(flags['ca-cert'], '--ca-cert'), read(flags['ca-key']!, '--ca-key'), io.now());
    await assertCredentials();
    const code = await registrationCode(clients(target).iot);
    writeFileSync(flags['verification-cert'], await verificationCertificate(ca, code, io.now()));
    io.print(`${flags['verification-cert']}: verification certificate (CN = registration code ${code}), valid 30 days`);
    io.print('set DeviceCaCertificatePem and DeviceCaVerificationCertificatePem in params/<env>.json, then npm run deploy');
    return { exitCode: 0 };
  }

  const zonesFile = flags.zones;
  const zones: Zone[] | undefined = zonesFile ? parseZonesCsv(read(zonesFile, '--zones'), zonesFile) : undefined;
  if (flags.csv === undefined) {
    if (!zones) throw new UsageError('provision: give --csv (bulk registration), --zones (zone groups), --revoke or --verification-cert');
    if (flags['dry-run']) {
      io.print(`dry run: would create the missing ones of ${zones.length} zone thing group(s) under ${THING_LAYOUT.zoneParentGroup}`);
      return { exitCode: 0 };
    }
    await assertCredentials();
    const created = await ensureZoneGroups(clients(target).iot, zones, io.print);
    io.print(`${zones.length} zone(s) in ${zonesFile}; ${created.length} thing group(s) created, the rest existed`);
    return { exitCode: 0 };
  }

  return bulkRegister({
    csvFile: flags.csv,
    zones,
    zonesFile,
    caCert: flags['ca-cert'],
    caKey: flags['ca-key'],
    csrDir: flags['csr-dir'],
    dryRun: flags['dry-run'] === true,
    env,
    stackName,
    bucket: flags.bucket,
    outDir,
    validityDays: numberFlag('provision', 'validity-days', flags['validity-days'], DEFAULT_VALIDITY_DAYS),
    target,
    io,
  });
}

/** What every certificate-making mode takes: the stack, where files go, an optional local CA. */
interface CertificateOptions {
  caCert?: string;
  caKey?: string;
  env: string;
  stackName: string;
  outDir: string;
  validityDays: number;
  target: AwsTarget;
  io: ProvisionIo;
}

interface RotateOptions extends CertificateOptions {
  sensorId: string;
  csrFile?: string;
}

/**
 * A new certificate for an existing sensor, next to its current one (rotateCertificate): the CSR the
 * device made (--csr) or a new key made here, signed by AWS IoT or by the operator's CA.
 */
async function rotate(o: RotateOptions): Promise<{ exitCode: number }> {
  const { io } = o;
  const now = io.now();
  const ca = o.caCert ? await loadCa(read(o.caCert, '--ca-cert'), read(o.caKey!, '--ca-key'), now) : undefined;
  let csr;
  if (o.csrFile) {
    csr = await readCsr(read(o.csrFile, '--csr'), o.csrFile);
    const cn = commonName(csr.subject);
    if (cn !== o.sensorId) throw new UsageError(`provision: --csr ${o.csrFile} has CN '${cn ?? ''}'; allowed: CN = the sensor id ${o.sensorId}`);
  }
  await assertCredentials();
  const aws = clients(o.target);
  const outputs = await stackOutputs(aws.cfn, o.stackName, o.target.region);
  const thingTypeName = outputs.SensorThingTypeName;
  if (!thingTypeName) throw new ProvisionError(`stack ${o.stackName} lacks output SensorThingTypeName: update it with this version of the template (npm run deploy)`);
  const keyPath = join(o.outDir, 'keys', `${o.sensorId}.${stamp(now)}.key.pem`);
  if (!csr) {
    // The zone and location in the subject are informative only: the registry's attributes are the truth.
    const made = await createDeviceCredentials({ sensorId: o.sensorId, zoneId: 'rotated', location: '0,0' });
    writePrivate(keyPath, made.privateKeyPem);
    csr = made.csr;
  }
  const certificate = ca
    ? { certificatePem: (await signCsr(csr, ca, { now, validityDays: o.validityDays })).toString('pem'), caCertificatePem: ca.certificatePem }
    : { csrPem: csr.toString('pem') };
  const rotated = await rotateCertificate(aws.iot, o.sensorId, thingTypeName, certificate);
  const pem = 'certificatePem' in certificate ? certificate.certificatePem : rotated.certificatePem;
  const certPath = join(o.outDir, 'certs', `${o.sensorId}.${stamp(now)}.cert.pem`);
  if (pem) {
    mkdirSync(join(o.outDir, 'certs'), { recursive: true });
    writeFileSync(certPath, pem);
  }
  const id = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  io.print(`${o.sensorId}: new certificate ${id(rotated.certificateArn)} active and attached${pem ? ` (${certPath})` : ''}${o.csrFile ? '' : `; key ${keyPath}`}`);
  io.print(`${o.sensorId}: ${rotated.previous.length} earlier certificate(s) still attached; once the device connects with the new one, deactivate each:`);
  for (const old of rotated.previous) {
    io.print(`  aws iot update-certificate --certificate-id ${id(old)} --new-status INACTIVE && aws iot detach-thing-principal --thing-name ${o.sensorId} --principal ${old}`);
  }
  return { exitCode: 0 };
}

interface BulkOptions extends CertificateOptions {
  csvFile: string;
  zones?: Zone[];
  zonesFile?: string;
  csrDir?: string;
  dryRun: boolean;
  bucket?: string;
}

async function bulkRegister(o: BulkOptions): Promise<{ exitCode: number }> {
  const { io } = o;
  const now = io.now();
  if (!Number.isInteger(o.validityDays) || o.validityDays < 1) throw new UsageError(`provision: --validity-days must be a whole number of days, got ${o.validityDays}`);
  const aws = clients(o.target);
  const needsAws = !o.zones || !o.dryRun;
  if (needsAws) await assertCredentials();

  // 1. Validate everything before anything is made or registered.
  const zoneList: ZoneList = o.zones
    ? { zones: new Set(o.zones.map((z) => z.zoneId)), origin: o.zonesFile! }
    : { zones: await zoneGroups(aws.iot), origin: `thing groups under ${THING_LAYOUT.zoneParentGroup}; pass --zones to add zones` };
  const sensors = parseSensorsCsv(read(o.csvFile, '--csv'), o.csvFile, zoneList);
  const zonesUsed = new Set(sensors.map((s) => s.zoneId));
  io.print(`${o.csvFile}: ${sensors.length.toLocaleString('en-US')} sensors in ${zonesUsed.size} zone(s), all rows valid (zones from ${zoneList.origin})`);

  const ca = o.caCert ? await loadCa(read(o.caCert, '--ca-cert'), read(o.caKey!, '--ca-key'), now) : undefined;
  const csrs = o.csrDir ? await readCsrDir(o.csrDir, sensors) : undefined;
  const keyPath = (s: SensorRow) => join(o.outDir, 'keys', `${s.sensorId}.key.pem`);
  if (!csrs) {
    const taken = sensors.filter((s) => existsSync(keyPath(s)));
    if (taken.length) {
      throw new ProvisionError(
        `${taken.length} sensor(s) already have a key in ${join(o.outDir, 'keys')} (first: ${taken[0]!.sensorId}); ` +
          'a new key would orphan the one already on the device: move them away or pass --out',
      );
    }
  }
  const source: BulkCertificateSource = ca ? { kind: 'certificate', caCertificatePem: ca.certificatePem } : { kind: 'csr' };
  const keysFrom = csrs ? `CSRs from ${o.csrDir}` : `new P-256 keys made here (private keys to ${join(o.outDir, 'keys')}, mode 0600)`;
  const signer = ca ? `signed here by ${ca.certificate.subject} (${o.validityDays} days)` : 'signed by AWS IoT (Amazon Root CA) from the CSRs';

  let outputs: Record<string, string> = {};
  try {
    outputs = await stackOutputs(aws.cfn, o.stackName, o.target.region);
  } catch (error) {
    if (!o.dryRun) throw error;
    io.print(`stack ${o.stackName}: not read (${(error as Error).message})`);
  }
  const roleArn = outputs.BulkRegistrationRoleArn;
  const thingTypeName = outputs.SensorThingTypeName;
  const sensorGroup = outputs.SensorThingGroupName;
  const bucket = o.bucket ?? outputs.RawDataBucketName;
  if (!o.dryRun && !roleArn && thingTypeName) {
    throw new ProvisionError(
      `stack ${o.stackName} has no bulk registration role: deploy it with EnableBulkRegistration=true and OperatorRoleName set to the IAM role you run ` +
        'npm run provision as (only that role may pass the bulk role to AWS IoT), or provision sensors by JITP (docs/provisioning.md)',
    );
  }
  if (!o.dryRun && (!thingTypeName || !sensorGroup || !bucket)) {
    throw new ProvisionError(
      `stack ${o.stackName} lacks output(s) ${[!thingTypeName && 'SensorThingTypeName', !sensorGroup && 'SensorThingGroupName', !bucket && 'RawDataBucketName'].filter(Boolean).join(', ')}: ` +
        'update it with this version of the template (npm run deploy)',
    );
  }
  const templateBody = bulkTemplateBody(source, {
    thingTypeName: thingTypeName ?? `tapstack-${o.env}-sensor`,
    sensorGroup: sensorGroup ?? `tapstack-${o.env}-sensors`,
  });
  if (templateBody.length > MAX_TEMPLATE_BODY_CHARS) {
    throw new ProvisionError(`the registration template is ${templateBody.length} characters, above the ${MAX_TEMPLATE_BODY_CHARS} AWS IoT takes: use a CA certificate with a shorter PEM`);
  }
  const key = `${REGISTRATION_PREFIX}${o.env}/${stamp(now)}.jsonl`;

  if (o.dryRun) {
    io.print('dry run: nothing is made, uploaded or registered');
    if (o.zones) io.print(`zone thing groups: would create those of ${o.zones.length} zone(s) in ${o.zonesFile} missing under ${THING_LAYOUT.zoneParentGroup}`);
    io.print(`certificates: ${keysFrom}, ${signer}`);
    io.print(`registration file: ${sensors.length.toLocaleString('en-US')} JSON lines with keys ${bulkParameterNames(source).join(', ')} -> s3://${bucket ?? '<stack bucket>'}/${key}`);
    io.print(
      `template: ${templateBody.length} of ${MAX_TEMPLATE_BODY_CHARS} characters; thing type ${thingTypeName ?? '(stack not read)'}, ` +
        `sensor group ${sensorGroup ?? '(stack not read)'}; role ${roleArn ?? '(stack not read or no bulk role)'}`,
    );
    io.print('would run StartThingRegistrationTask, poll DescribeThingRegistrationTask, then report every row from ListThingRegistrationTaskReports');
    return { exitCode: 0 };
  }
  if (o.bucket) {
    io.print(`note: BulkRegistrationRole reads only s3://${outputs.RawDataBucketName}/${REGISTRATION_PREFIX}${o.env}/*; s3://${o.bucket} must grant it s3:GetObject`);
  }

  // 2. Zone groups (the templates add each thing to its zone's group; IoT does not create groups).
  if (o.zones) await ensureZoneGroups(aws.iot, o.zones, io.print);

  // 3. Certificates, made and signed locally.
  const started = performance.now();
  mkdirSync(join(o.outDir, 'certs'), { recursive: true });
  const devices = await mapLimit(sensors, CRYPTO_CONCURRENCY, async (sensor, i): Promise<DeviceRegistration> => {
    let csr = csrs?.[i];
    if (!csr) {
      const made = await createDeviceCredentials({ sensorId: sensor.sensorId, zoneId: sensor.zoneId, location: sensor.location });
      writePrivate(keyPath(sensor), made.privateKeyPem);
      csr = { csr: made.csr, pem: made.csrPem };
    }
    if (!ca) return { sensor, csrPem: csr.pem };
    const certificatePem = (await signCsr(csr.csr, ca, { now, validityDays: o.validityDays })).toString('pem');
    writeFileSync(join(o.outDir, 'certs', `${sensor.sensorId}.cert.pem`), certificatePem);
    return { sensor, certificatePem };
  });
  const perDeviceMs = (performance.now() - started) / sensors.length;
  io.print(`certificates: ${keysFrom}, ${signer}: ${sensors.length} in ${((perDeviceMs * sensors.length) / 1000).toFixed(1)} s (${perDeviceMs.toFixed(2)} ms each)`);

  // 4. Registration file → S3 → StartThingRegistrationTask → poll.
  const file = registrationFile(devices, source);
  writeFileSync(join(o.outDir, `registration-${stamp(now)}.jsonl`), file.body);
  await uploadRegistrationFile(aws.s3, bucket!, key, file.body);
  io.print(`uploaded s3://${bucket}/${key} (${(Buffer.byteLength(file.body) / 1e6).toFixed(1)} MB)`);
  let taskId: string;
  try {
    taskId = await startRegistrationTask(aws.iot, { templateBody, bucket: bucket!, key, roleArn: roleArn! });
  } catch (error) {
    const answer = unreadableAnswer((error as Error).cause ?? error);
    if (!o.target.endpoint || !answer) throw error;
    // moto 5.2 has no StartThingRegistrationTask: it answers with an error page.
    throw new ProvisionError(
      `StartThingRegistrationTask: ${o.target.endpoint} (AWS_ENDPOINT_URL) ${answer.replace(/^the service /, '')}: ` +
        'this emulator does not implement bulk registration (moto 5.2 lacks StartThingRegistrationTask); run it against AWS IoT, ' +
        'or use --dry-run to check the CSV, the certificates and the stack here',
    );
  }
  const task = await waitForTask(aws.iot, taskId, {
    intervalMs: io.pollIntervalMs ?? POLL_INTERVAL_MS,
    progress: (t) => io.progress(progressLine(taskId, t, sensors.length)),
    sleep: io.sleep,
  });
  io.print('');

  // 5. Per-row outcome from the reports.
  const [results, errors] = await Promise.all([
    reportLines(aws.iot, taskId, 'RESULTS', io.download),
    reportLines(aws.iot, taskId, 'ERRORS', io.download),
  ]);
  const { rows, unmatchedErrors } = rowOutcomes(devices, file, results, errors);
  for (const r of rows.filter((r) => r.certificatePem)) {
    writeFileSync(join(o.outDir, 'certs', `${r.sensorId}.cert.pem`), r.certificatePem!);
  }
  const reportPath = join(o.outDir, `report-${stamp(now)}.csv`);
  writeFileSync(reportPath, outcomeCsv(rows));
  const failed = rows.filter((r) => !r.registered);
  for (const r of failed) io.print(`${o.csvFile} row ${r.row} (${r.sensorId}): not registered: ${r.detail}`);
  for (const e of unmatchedErrors) io.print(`task error not matched to a row: ${e}`);
  io.print(
    `task ${taskId} ${task.status}: ${rows.length - failed.length} of ${rows.length} sensors registered, ${failed.length} failed; ` +
      `per-row report ${reportPath}; certificates in ${join(o.outDir, 'certs')}`,
  );
  return { exitCode: failed.length > 0 || task.status !== 'Completed' ? 1 : 0 };
}

/** Reads <dir>/<sensor_id>.csr for every sensor: each must exist, verify, and name the sensor as CN. */
async function readCsrDir(dir: string, sensors: SensorRow[]) {
  const problems: string[] = [];
  const csrs = await mapLimit(sensors, CRYPTO_CONCURRENCY, async (s) => {
    const path = join(dir, `${s.sensorId}.csr`);
    if (!existsSync(path)) {
      problems.push(`row ${s.row} (${s.sensorId}): ${path} is missing; allowed: one PEM CSR per sensor, named <sensor_id>.csr`);
      return undefined;
    }
    try {
      const csr = await readCsr(readFileSync(path, 'utf8'), path);
      const cn = commonName(csr.subject);
      if (cn !== s.sensorId) {
        problems.push(`row ${s.row} (${s.sensorId}): ${path} has CN '${cn ?? ''}'; allowed: CN = the sensor id`);
        return undefined;
      }
      return { csr, pem: csr.toString('pem') };
    } catch (error) {
      problems.push(`row ${s.row} (${s.sensorId}): ${(error as Error).message}`);
      return undefined;
    }
  });
  if (problems.length) throw new CsvInputError(problems.sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0])));
  return csrs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMain('provision', async () => {
    const { exitCode } = await provision(process.argv.slice(2));
    process.exitCode = exitCode;
  });
}
