/**
 * npm run provision against moto 5.2, as far as moto goes. moto implements things, thing groups,
 * certificates, policies and their attachments, GetRegistrationCode and RegisterCACertificate, but
 * not StartThingRegistrationTask (asserted below), so the bulk request itself is asserted on the mock
 * in tests/unit/scripts/provision.test.ts. Here: the zone groups, the registry layout one registration line
 * produces (applied with the per-device calls the task makes), --rotate, --revoke and --verification-cert.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddThingToThingGroupCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  CreateThingGroupCommand,
  CreateThingTypeCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  DetachThingPrincipalCommand,
  IoTClient,
  ListAttachedPoliciesCommand,
  ListThingGroupsCommand,
  ListThingGroupsForThingCommand,
  ListThingPrincipalsCommand,
  RegisterCACertificateCommand,
  RegisterCertificateCommand,
  StartThingRegistrationTaskCommand,
} from '@aws-sdk/client-iot';
import * as x509 from '@peculiar/x509';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provision, type ProvisionIo } from '../../scripts/provision';
import { commonName, createDeviceCredentials, loadCa, signCsr } from '../../scripts/provision/certs';
import type { SensorRow } from '../../scripts/provision/csv';
import { registrationLine } from '../../scripts/provision/registration';
import { bulkTemplateBody, THING_LAYOUT, type BulkCertificateSource } from '../../template/layers/provisioning';
import { motoClientConfig, startMoto, type Moto } from '../helpers/moto';
import { deployToMoto } from '../helpers/stack';
import { makeCa, type TestCa } from '../helpers/pki';

/** The stack's registry names in the environment `ci` (its SensorThingTypeName and SensorThingGroupName outputs). */
const REGISTRY = { thingTypeName: 'tapstack-ci-sensor', sensorGroup: 'tapstack-ci-sensors' };

/**
 * What AWS IoT does with one registration line: resolve the template's Refs from the line, then
 * create the thing (type, attributes, groups), the certificate (from the CSR or the PEM) and attach
 * the certificate to the thing (no policy: the sensor group carries it). Test-only: it exists to show
 * that the values our file and template produce are accepted by the registry APIs and give the
 * intended layout.
 */
async function applyRegistrationLine(iot: IoTClient, templateBody: string, line: string): Promise<string> {
  const values = JSON.parse(line) as Record<string, string>;
  const template = JSON.parse(templateBody);
  const resolve = (v: unknown): any =>
    v && typeof v === 'object' && 'Ref' in (v as object)
      ? values[(v as { Ref: string }).Ref] ?? template.Parameters[(v as { Ref: string }).Ref]?.Default
      : Array.isArray(v)
        ? v.map(resolve)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]))
          : v;
  const { thing, certificate, ...rest } = resolve(template.Resources);
  expect(rest).toEqual({});
  expect(Object.keys(template.Parameters).sort()).toEqual(Object.keys(values).sort());
  await iot.send(
    new CreateThingCommand({
      thingName: thing.Properties.ThingName,
      thingTypeName: thing.Properties.ThingTypeName,
      attributePayload: { attributes: thing.Properties.AttributePayload },
    }),
  );
  for (const group of thing.Properties.ThingGroups) {
    await iot.send(new AddThingToThingGroupCommand({ thingName: thing.Properties.ThingName, thingGroupName: group }));
  }
  const c = certificate.Properties;
  const certificateArn = c.CertificateSigningRequest
    ? (await iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: c.CertificateSigningRequest, setAsActive: c.Status === 'ACTIVE' }))).certificateArn!
    : (await iot.send(new RegisterCertificateCommand({ certificatePem: c.CertificatePem, caCertificatePem: c.CACertificatePem, status: c.Status }))).certificateArn!;
  await iot.send(new AttachThingPrincipalCommand({ thingName: thing.Properties.ThingName, principal: certificateArn }));
  return certificateArn;
}

describe('npm run provision against moto', () => {
  let moto: Moto;
  let iot: IoTClient;
  let work: string;
  let ca: TestCa;
  const printed: string[] = [];
  const io: ProvisionIo = {
    print: (l) => printed.push(l),
    progress: (l) => printed.push(l),
    now: () => new Date(),
    download: async () => '',
  };
  const saved = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    const config = motoClientConfig(moto.endpoint);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: config.region,
    });
    iot = new IoTClient(config);
    work = mkdtempSync(join(tmpdir(), 'provision-moto-'));
    ca = await makeCa();
    await iot.send(new CreateThingTypeCommand({ thingTypeName: REGISTRY.thingTypeName }));
    await iot.send(new CreateThingGroupCommand({ thingGroupName: REGISTRY.sensorGroup }));
    // The stack's outputs --rotate reads (moto deploys this stand-in in a second).
    await new CloudFormationClient(config).send(
      new CreateStackCommand({
        StackName: 'tapstack-ci',
        TemplateBody: JSON.stringify({
          Resources: { Placeholder: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
          Outputs: { SensorThingTypeName: { Value: REGISTRY.thingTypeName }, SensorThingGroupName: { Value: REGISTRY.sensorGroup } },
        }),
      }),
    );
  });
  afterAll(async () => {
    process.env = saved;
    rmSync(work, { recursive: true, force: true });
    await moto?.stop();
  });

  it('creates the zone thing groups under tapstack-zones, and only the missing ones on a second run', async () => {
    writeFileSync(join(work, 'zones.csv'), 'zone_id,description\ndowntown,Centre\nharbor,Port\n');
    await provision(['--env', 'ci', '--zones', join(work, 'zones.csv')], io);
    const groups = await iot.send(new ListThingGroupsCommand({ parentGroup: THING_LAYOUT.zoneParentGroup }));
    expect(groups.thingGroups!.map((g) => g.groupName).sort()).toEqual(['downtown', 'harbor']);
    writeFileSync(join(work, 'zones.csv'), 'zone_id\ndowntown\nharbor\nairport\n');
    printed.length = 0;
    await provision(['--env', 'ci', '--zones', join(work, 'zones.csv')], io);
    expect(printed).toContain('3 zone(s) in ' + join(work, 'zones.csv') + '; 1 thing group(s) created, the rest existed');
  });

  it('validates a CSV against the zones in the registry when no --zones is given', async () => {
    writeFileSync(join(work, 'sensors.csv'), 'sensor_id,zone_id,lat,lon\ns-1,downtown,52.37,4.89\ns-2,mars,1,1\n');
    await expect(provision(['--env', 'ci', '--csv', join(work, 'sensors.csv'), '--dry-run'], io)).rejects.toMatchObject({
      problems: [expect.stringMatching(/row 3: zone_id 'mars' is not a known zone; allowed: airport, downtown, harbor \(thing groups under tapstack-zones/)],
    });
  });

  it('moto 5.2 does not implement StartThingRegistrationTask (so the bulk request is asserted on the mock)', async () => {
    await expect(
      iot.send(new StartThingRegistrationTaskCommand({ templateBody: '{}', inputFileBucket: 'b', inputFileKey: 'k', roleArn: 'arn:aws:iam::123456789012:role/r' })),
    ).rejects.toThrow();
  });

  it('against a stack in moto: names the sensor thing type (not moto\'s object repr), then says moto lacks StartThingRegistrationTask', async () => {
    // The operator role bulk registration is limited to (a role of the account, made here with the AWS CLI).
    execFileSync('aws', ['iam', 'create-role', '--role-name', 'city-operator', '--assume-role-policy-document', '{"Version":"2012-10-17","Statement":[]}'], {
      env: { ...process.env, AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_DEFAULT_REGION: 'us-east-1' },
      stdio: 'ignore',
    });
    await deployToMoto(moto.endpoint, 'tapstack-prov', {
      EnvironmentSuffix: 'prov',
      ThrowawayEnvironment: 'true',
      KinesisShardCount: '1',
      ProcessorReservedConcurrency: '2',
      EnableBulkRegistration: 'true',
      OperatorRoleName: 'city-operator',
    });
    writeFileSync(join(work, 'one.csv'), 'sensor_id,zone_id,lat,lon\ns-9,downtown,52.37,4.89\n');
    printed.length = 0;
    await provision(['--env', 'prov', '--csv', join(work, 'one.csv'), '--dry-run', '--out', join(work, 'dry')], io);
    expect(printed.find((l) => l.startsWith('template: '))).toMatch(/; thing type tapstack-prov-sensor, sensor group tapstack-prov-sensors; role arn:aws:iam::\d+:role\//);
    const run = provision(['--env', 'prov', '--csv', join(work, 'one.csv'), '--out', join(work, 'real')], io);
    await expect(run).rejects.toThrow(
      new RegExp(`^StartThingRegistrationTask: ${moto.endpoint.replace(/[.]/g, '\\.')} \\(AWS_ENDPOINT_URL\\) answered HTTP 5\\d\\d with a body that is not an AWS answer .*moto 5\\.2 lacks StartThingRegistrationTask.*--dry-run`),
    );
  }, 120_000);

  const sensor: SensorRow = { row: 2, sensorId: 'sensor-00001', zoneId: 'downtown', lat: 52.37, lon: 4.89, location: '52.37,4.89', installedAt: '2024-05-01' };

  it.each([
    ['a CSR (AWS IoT signs)', { kind: 'csr' } as const],
    ['a certificate signed locally by a registered CA', { kind: 'certificate' } as const],
  ])('a registration line with %s gives the sensor its thing of the sensor type, its groups, attributes and certificate', async (_name, kind) => {
    const id = `${sensor.sensorId}-${kind.kind}`;
    const made = await createDeviceCredentials({ sensorId: id, zoneId: sensor.zoneId, location: sensor.location });
    let source: BulkCertificateSource = { kind: 'csr' };
    let certificatePem: string | undefined;
    if (kind.kind === 'certificate') {
      await iot.send(new RegisterCACertificateCommand({ caCertificate: ca.certificatePem, setAsActive: true, allowAutoRegistration: true }));
      const signing = await loadCa(ca.certificatePem, ca.keyPem, new Date());
      certificatePem = (await signCsr(made.csr, signing, { now: new Date(), validityDays: 30 })).toString('pem');
      source = { kind: 'certificate', caCertificatePem: signing.certificatePem };
    }
    const line = registrationLine({ sensor: { ...sensor, sensorId: id }, csrPem: made.csrPem, certificatePem }, source);
    const certificateArn = await applyRegistrationLine(iot, bulkTemplateBody(source, REGISTRY), line);

    const thing = await iot.send(new DescribeThingCommand({ thingName: id }));
    expect(thing.attributes).toEqual({ zone: 'downtown', location: '52.37,4.89', installed_at: '2024-05-01' });
    expect(thing.thingTypeName).toBe(REGISTRY.thingTypeName);
    const groups = await iot.send(new ListThingGroupsForThingCommand({ thingName: id }));
    expect(groups.thingGroups!.map((g) => g.groupName).sort()).toEqual(['downtown', REGISTRY.sensorGroup]);
    expect((await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals).toEqual([certificateArn]);
    // No policy on the certificate: the sensor group carries it (npm run deploy attaches it).
    expect((await iot.send(new ListAttachedPoliciesCommand({ target: certificateArn }))).policies).toEqual([]);
    const description = (await iot.send(new DescribeCertificateCommand({ certificateId: certificateArn.split('/')[1]! }))).certificateDescription!;
    expect(description.status).toBe('ACTIVE');
    if (kind.kind === 'certificate') expect(commonName(new x509.X509Certificate(description.certificatePem!).subject)).toBe(id);
  });

  it('--rotate attaches a new active certificate to an existing sensor next to its current one, and says how to retire the old', async () => {
    const id = `${sensor.sensorId}-csr`;
    const [old] = (await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals!;
    const made = await createDeviceCredentials({ sensorId: id, zoneId: 'downtown', location: '1,1' });
    writeFileSync(join(work, 'new.csr'), made.csrPem);
    printed.length = 0;
    await provision(['--env', 'ci', '--rotate', id, '--csr', join(work, 'new.csr'), '--out', join(work, 'out')], io);
    const principals = (await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals!;
    expect(principals).toHaveLength(2);
    const fresh = principals.find((p) => p !== old)!;
    expect((await iot.send(new DescribeCertificateCommand({ certificateId: fresh.split('/')[1]! }))).certificateDescription!.status).toBe('ACTIVE');
    expect(printed[0]).toMatch(new RegExp(`^${id}: new certificate ${fresh.split('/')[1]} active and attached`));
    expect(printed).toContain(`  aws iot update-certificate --certificate-id ${old!.split('/')[1]} --new-status INACTIVE && aws iot detach-thing-principal --thing-name ${id} --principal ${old}`);
    // The new certificate is the one --revoke finds too; keep the sensor as it was for the tests below.
    await iot.send(new DetachThingPrincipalCommand({ thingName: id, principal: fresh }));
  });

  it('--rotate refuses a thing that is not a sensor of this environment, and a CSR naming another sensor', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'not-a-sensor' }));
    await expect(provision(['--env', 'ci', '--rotate', 'not-a-sensor', '--out', join(work, 'out')], io)).rejects.toThrow(
      "--rotate: thing not-a-sensor is of type '(none)', not tapstack-ci-sensor: it is not a sensor of this environment",
    );
    await expect(provision(['--env', 'ci', '--rotate', 'someone-else', '--csr', join(work, 'new.csr')], io)).rejects.toThrow(/has CN 'sensor-00001-csr'; allowed: CN = the sensor id someone-else/);
  });

  it('--revoke revokes every certificate of the sensor, detaches it from the thing, and keeps the thing', async () => {
    const id = `${sensor.sensorId}-csr`;
    const [certificateArn] = (await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals!;
    const certificateId = certificateArn!.split('/')[1]!;
    printed.length = 0;
    await provision(['--env', 'ci', '--revoke', id], io);
    expect(printed).toEqual([
      `${id}: certificate ${certificateId}: set REVOKED`,
      `${id}: certificate ${certificateId}: detached from thing ${id}`,
      `${id}: the thing keeps its attributes and zone group; attach a new certificate to bring the sensor back`,
    ]);
    expect((await iot.send(new DescribeCertificateCommand({ certificateId }))).certificateDescription!.status).toBe('REVOKED');
    expect((await iot.send(new ListAttachedPoliciesCommand({ target: certificateArn! }))).policies).toEqual([]);
    expect((await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals).toEqual([]);
    expect((await iot.send(new DescribeThingCommand({ thingName: id }))).attributes!.zone).toBe('downtown');

    printed.length = 0;
    await provision(['--env', 'ci', '--revoke', id], io);
    expect(printed[0]).toBe(`${id}: ${id} has no certificate attached: nothing to revoke`);
    await expect(provision(['--env', 'ci', '--revoke', 'no-such-sensor'], io)).rejects.toThrow('--revoke: thing no-such-sensor not found in the registry');
  });

  it('--status INACTIVE deactivates instead (reversible)', async () => {
    const id = `${sensor.sensorId}-certificate`;
    const [certificateArn] = (await iot.send(new ListThingPrincipalsCommand({ thingName: id }))).principals!;
    await provision(['--env', 'ci', '--revoke', id, '--status', 'INACTIVE'], io);
    expect((await iot.send(new DescribeCertificateCommand({ certificateId: certificateArn!.split('/')[1]! }))).certificateDescription!.status).toBe('INACTIVE');
  });

  it('--verification-cert signs CN = the registration code GetRegistrationCode returned, with the CA', async () => {
    writeFileSync(join(work, 'ca.pem'), ca.certificatePem);
    writeFileSync(join(work, 'ca.key'), ca.keyPem);
    const out = join(work, 'verification.pem');
    printed.length = 0;
    await provision(['--env', 'ci', '--verification-cert', out, '--ca-cert', join(work, 'ca.pem'), '--ca-key', join(work, 'ca.key')], io);
    const certificate = new x509.X509Certificate(readFileSync(out, 'utf8'));
    // AWS returns one code per account; moto a new one per call, so compare with the code the script got.
    const code = /registration code (\S+)\)/.exec(printed[0]!)![1];
    expect(code).toMatch(/^[0-9a-f-]{20,}$/);
    expect(commonName(certificate.subject)).toBe(code);
    expect(await certificate.verify({ publicKey: new x509.X509Certificate(ca.certificatePem).publicKey, signatureOnly: true })).toBe(true);
  });
});
