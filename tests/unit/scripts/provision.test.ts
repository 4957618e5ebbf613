import 'reflect-metadata';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateThingGroupCommand,
  DescribeThingGroupCommand,
  DescribeThingRegistrationTaskCommand,
  IoTClient,
  ListThingGroupsCommand,
  ListThingRegistrationTaskReportsCommand,
  StartThingRegistrationTaskCommand,
} from '@aws-sdk/client-iot';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as x509 from '@peculiar/x509';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { provision, type ProvisionIo } from '../../../scripts/provision';
import { commonName, createDeviceCredentials } from '../../../scripts/provision/certs';
import { CsvInputError } from '../../../scripts/provision/csv';
import { bulkParameterNames, bulkTemplateBody, THING_LAYOUT } from '../../../template/layers/provisioning';
import { makeCa, type TestCa } from '../../helpers/pki';

describe('npm run provision (AWS calls mocked)', () => {
  const iot = mockClient(IoTClient);
  const cfn = mockClient(CloudFormationClient);
  const s3 = mockClient(S3Client);
  const OUTPUTS = {
    BulkRegistrationRoleArn: 'arn:aws:iam::123456789012:role/tapstack-dev-BulkRegistrationRole-X',
    SensorThingTypeName: 'tapstack-dev-sensor',
    SensorThingGroupName: 'tapstack-dev-sensors',
    RawDataBucketName: 'tapstack-dev-raw-123',
  };
  let work: string;
  let printed: string[];
  let reports: Record<string, string>;
  const io = (): ProvisionIo => ({
    print: (l) => printed.push(l),
    progress: (l) => printed.push(`~${l}`),
    now: () => new Date('2026-11-22T08:00:00Z'),
    download: async (url) => reports[url]!,
    sleep: async () => {},
    pollIntervalMs: 0,
  });
  const csv = (rows: string[]) => {
    const path = join(work, 'sensors.csv');
    writeFileSync(path, ['sensor_id,zone_id,lat,lon,installed_at', ...rows].join('\n'));
    return path;
  };
  const zones = () => {
    const path = join(work, 'zones.csv');
    writeFileSync(path, 'zone_id,description\ndowntown,Centre\nharbor,\n');
    return path;
  };
  const uploaded = () => String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body);
  const env = { ...process.env };

  beforeAll(() => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_PROFILE;
  });
  afterAll(() => {
    process.env = env;
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'provision-'));
    printed = [];
    reports = {};
    iot.reset();
    cfn.reset();
    s3.reset();
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'tapstack-dev', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }] });
    iot.on(DescribeThingGroupCommand).rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    iot.on(DescribeThingGroupCommand, { thingGroupName: THING_LAYOUT.zoneParentGroup }).resolves({ thingGroupName: THING_LAYOUT.zoneParentGroup });
    iot.on(ListThingGroupsCommand).resolves({ thingGroups: [{ groupName: 'downtown' }] });
    iot.on(CreateThingGroupCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    iot.on(StartThingRegistrationTaskCommand).resolves({ taskId: 'task-1' });
    iot
      .on(DescribeThingRegistrationTaskCommand)
      .resolvesOnce({ status: 'InProgress', percentageProgress: 50, successCount: 1, failureCount: 0 })
      .resolves({ status: 'Completed', percentageProgress: 100, successCount: 2, failureCount: 1 });
    iot.on(ListThingRegistrationTaskReportsCommand, { reportType: 'RESULTS' }).resolves({ resourceLinks: ['https://r/results'] });
    iot.on(ListThingRegistrationTaskReportsCommand, { reportType: 'ERRORS' }).resolves({ resourceLinks: ['https://r/errors'] });
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('validates, makes keys locally, uploads the file and starts the task with the template, file and role', async () => {
    reports['https://r/results'] = ['s-1', 's-2']
      .map((id) => JSON.stringify({ response: { CertificatePem: `CERT ${id}`, ResourceArns: { thing: `arn:aws:iot:us-east-1:1:thing/${id}` } } }))
      .join('\n');
    reports['https://r/errors'] = JSON.stringify({ lineNumber: 2, errorMessage: 'ThrottlingException' });
    const out = join(work, 'out');
    const { exitCode } = await provision(
      ['--env', 'dev', '--csv', csv(['s-1,downtown,52.37,4.89,2024-05-01', 's-2,harbor,52.38,4.90,', 's-3,harbor,52.39,4.91,']), '--zones', zones(), '--out', out],
      io(),
    );

    const [start] = iot.commandCalls(StartThingRegistrationTaskCommand);
    const request = start!.args[0].input;
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(request).toEqual({
      templateBody: bulkTemplateBody({ kind: 'csr' }, { thingTypeName: 'tapstack-dev-sensor', sensorGroup: 'tapstack-dev-sensors' }),
      inputFileBucket: 'tapstack-dev-raw-123',
      inputFileKey: 'provisioning/dev/2026-11-22T08-00-00-000Z.jsonl',
      roleArn: OUTPUTS.BulkRegistrationRoleArn,
    });
    expect([put.Bucket, put.Key]).toEqual([request.inputFileBucket, request.inputFileKey]);

    const lines = uploaded().trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => Object.keys(l))).toEqual(Array(3).fill(bulkParameterNames({ kind: 'csr' })));
    for (const [i, line] of lines.entries()) {
      const csr = new x509.Pkcs10CertificateRequest(line.CSR);
      expect(await csr.verify()).toBe(true);
      expect(commonName(csr.subject)).toBe(`s-${i + 1}`);
    }
    expect(iot.commandCalls(CreateThingGroupCommand).map((c) => c.args[0].input)).toEqual([
      {
        thingGroupName: 'harbor',
        parentGroupName: THING_LAYOUT.zoneParentGroup,
        thingGroupProperties: { attributePayload: { attributes: { zone: 'harbor' } } },
      },
    ]);

    const keys = join(out, 'keys');
    expect(readdirSync(keys).sort()).toEqual(['s-1.key.pem', 's-2.key.pem', 's-3.key.pem']);
    expect(statSync(keys).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(keys)) expect(statSync(join(keys, f)).mode & 0o777, f).toBe(0o600);
    expect(readFileSync(join(out, 'certs', 's-2.cert.pem'), 'utf8')).toBe('CERT s-2');

    expect(exitCode).toBe(1);
    expect(printed).toContain('~task task-1: InProgress 50% | 1 registered, 0 failed of 3');
    expect(printed.some((l) => l.endsWith('sensors.csv row 4 (s-3): not registered: ThrottlingException'))).toBe(true);
    expect(printed.at(-1)).toMatch(/^task task-1 Completed: 2 of 3 sensors registered, 1 failed; per-row report /);
    const report = readdirSync(out).find((f) => f.startsWith('report-'))!;
    expect(readFileSync(join(out, report), 'utf8').split('\n')[3]).toBe('4,s-3,failed,ThrottlingException');
  });

  it('signs locally with --ca-cert/--ca-key and registers certificates, the CA inlined in the template', async () => {
    const ca: TestCa = await makeCa();
    writeFileSync(join(work, 'ca.pem'), ca.certificatePem);
    writeFileSync(join(work, 'ca.key'), ca.keyPem);
    reports['https://r/results'] = JSON.stringify({ response: { ResourceArns: { thing: 'arn:aws:iot:us-east-1:1:thing/s-1' } } });
    reports['https://r/errors'] = '';
    iot.on(DescribeThingRegistrationTaskCommand).resolves({ status: 'Completed', successCount: 1 });
    const { exitCode } = await provision(
      ['--env', 'dev', '--csv', csv(['s-1,downtown,52.37,4.89,']), '--ca-cert', join(work, 'ca.pem'), '--ca-key', join(work, 'ca.key'), '--out', join(work, 'out')],
      io(),
    );
    expect(exitCode).toBe(0);
    const request = iot.commandCalls(StartThingRegistrationTaskCommand)[0]!.args[0].input;
    expect(JSON.parse(request.templateBody!).Resources.certificate.Properties.CACertificatePem).toBe(new x509.X509Certificate(ca.certificatePem).toString('pem'));
    const [line] = uploaded().trimEnd().split('\n').map((l) => JSON.parse(l));
    const cert = new x509.X509Certificate(line.CertificatePem);
    expect(commonName(cert.subject)).toBe('s-1');
    expect(await cert.verify({ publicKey: new x509.X509Certificate(ca.certificatePem).publicKey, signatureOnly: true })).toBe(true);
    expect(iot.commandCalls(CreateThingGroupCommand)).toEqual([]);
  });

  it('registers nothing when any row is bad: every bad row is listed, no key is made, no AWS write', async () => {
    const run = provision(['--env', 'dev', '--csv', csv(['s-1,downtown,91,4.89,', 's-2,uptown,52,4,', 's-1,downtown,52,4,']), '--out', join(work, 'out')], io());
    await expect(run).rejects.toThrow(CsvInputError);
    await expect(run).rejects.toMatchObject({
      problems: [
        expect.stringMatching(/row 2: lat '91' is out of range/),
        expect.stringMatching(/row 3: zone_id 'uptown' is not a known zone; allowed: downtown \(thing groups under tapstack-zones/),
        expect.stringMatching(/row 4: sensor_id 's-1' duplicates row 2/),
      ],
    });
    expect(existsSync(join(work, 'out'))).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)).toEqual([]);
    expect(iot.commandCalls(StartThingRegistrationTaskCommand)).toEqual([]);
    expect(iot.commandCalls(CreateThingGroupCommand)).toEqual([]);
  });

  it('--dry-run validates and prints the plan without making, uploading or registering anything', async () => {
    const { exitCode } = await provision(['--env', 'dev', '--csv', csv(['s-1,downtown,52.37,4.89,']), '--zones', zones(), '--dry-run', '--out', join(work, 'out')], io());
    expect(exitCode).toBe(0);
    expect(printed).toContain('dry run: nothing is made, uploaded or registered');
    expect(printed.some((l) => l.includes('keys ThingName, Zone, Location, InstalledAt, CSR -> s3://tapstack-dev-raw-123/provisioning/dev/'))).toBe(true);
    expect(existsSync(join(work, 'out'))).toBe(false);
    expect(s3.commandCalls(PutObjectCommand)).toEqual([]);
    expect(iot.commandCalls(StartThingRegistrationTaskCommand)).toEqual([]);
    expect(iot.commandCalls(CreateThingGroupCommand)).toEqual([]);
  });

  it('takes CSRs from --csr-dir, refusing a missing file or a CSR for another sensor', async () => {
    const dir = join(work, 'csrs');
    mkdirSync(dir);
    const made = async (id: string) => (await createDeviceCredentials({ sensorId: id, zoneId: 'downtown', location: '1,1' })).csrPem;
    writeFileSync(join(dir, 's-1.csr'), await made('s-1'));
    writeFileSync(join(dir, 's-2.csr'), await made('someone-else'));
    const run = provision(['--env', 'dev', '--csv', csv(['s-1,downtown,1,1,', 's-2,downtown,1,1,', 's-3,downtown,1,1,']), '--csr-dir', dir], io());
    await expect(run).rejects.toMatchObject({
      problems: [
        `row 3 (s-2): ${join(dir, 's-2.csr')} has CN 'someone-else'; allowed: CN = the sensor id`,
        `row 4 (s-3): ${join(dir, 's-3.csr')} is missing; allowed: one PEM CSR per sensor, named <sensor_id>.csr`,
      ],
    });
    expect(s3.commandCalls(PutObjectCommand)).toEqual([]);
  });

  it('never overwrites a key already made for a sensor', async () => {
    const out = join(work, 'out');
    mkdirSync(join(out, 'keys'), { recursive: true });
    writeFileSync(join(out, 'keys', 's-1.key.pem'), 'the key on the device');
    await expect(provision(['--env', 'dev', '--csv', csv(['s-1,downtown,1,1,']), '--out', out], io())).rejects.toThrow(
      /1 sensor\(s\) already have a key in .* \(first: s-1\); a new key would orphan the one already on the device/,
    );
    expect(readFileSync(join(out, 'keys', 's-1.key.pem'), 'utf8')).toBe('the key on the device');
  });

  it('explains bad flags in one line', async () => {
    await expect(provision(['--env', 'dev'], io())).rejects.toThrow('provision: give --csv (bulk registration), --zones (zone groups), --revoke or --verification-cert');
    await expect(provision(['--env', 'dev', '--csv', 'x', '--revoke', 's-1'], io())).rejects.toThrow('provision: --csv and --revoke are separate tasks; give one');
    await expect(provision(['--env', 'dev', '--csv', 'x', '--ca-cert', 'ca.pem'], io())).rejects.toThrow(/--ca-cert and --ca-key go together/);
    await expect(provision(['--env', 'dev', '--revoke', 's-1', '--status', 'DELETED'], io())).rejects.toThrow("provision: --status 'DELETED' is not one of REVOKED, INACTIVE");
    await expect(provision(['--env', 'Prod!', '--csv', 'x'], io())).rejects.toThrow(/--env 'Prod!' must be 1-12 lowercase/);
  });
});
