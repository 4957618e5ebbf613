import { beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_ZONE, RULE_RECORD } from '../../contract';
import type { PolicyStatement } from '../../template/iam';
import { buildTemplate } from '../../template/index';
import {
  BULK_PARAMETERS,
  bulkParameterNames,
  bulkTemplateBody,
  EXISTING_THING,
  JITP_SUBJECT,
  jitpTemplateBody,
  MAX_TEMPLATE_BODY_CHARS,
  THING_LAYOUT,
  UNSCOPED_PROVISIONING_POLICY,
} from '../../template/layers/provisioning';
import { failingRules, resolveTemplate } from '../../scripts/lib/cfn-eval';
import { makeCa, type TestCa } from '../helpers/pki';
import { justInTimeProvision, ResourceConflictsException } from '../../scripts/simulate/jitp';
import { createLocalPki, sensorIdentity, type LocalPki } from '../../scripts/simulate/pki';
import { fingerprintOf, LocalRegistry } from '../../scripts/simulate/registry';
import { committedTemplate } from '../helpers/template';

const template = buildTemplate();
const required = { LambdaCodeS3Bucket: 'code-bucket', LambdaCodeS3Key: 'processor-0123456789ab.zip' };
const JITP_IDS = ['DeviceCaCertificate', 'SensorProvisioningTemplate', 'SensorProvisioningRole'];
let ca: TestCa;
let verification: TestCa;
beforeAll(async () => {
  ca = await makeCa({ kind: 'rsa' });
  verification = await makeCa({ name: 'CN=0123456789abcdef0123456789abcdef01234567' });
});
const withCa = () => ({ ...required, DeviceCaCertificatePem: ca.certificatePem, DeviceCaVerificationCertificatePem: verification.certificatePem });
const statements = (role: Record<string, any>, policy: string): PolicyStatement[] =>
  role.Properties.Policies.find((p: { PolicyName: string }) => p.PolicyName === policy).PolicyDocument.Statement;
const actionsOf = (role: Record<string, any>) =>
  role.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: PolicyStatement[] } }) => p.PolicyDocument.Statement.flatMap((s) => s.Action));

const REGISTRY = { thingTypeName: 'tapstack-dev-sensor', sensorGroup: 'tapstack-dev-sensors' };
const BULK_IDS = ['BulkRegistrationRole', 'BulkRegistrationPassRolePolicy'];
const withBulk = () => ({ ...required, EnableBulkRegistration: 'true', OperatorRoleName: 'city-operator' });

describe('buildProvisioning: the defaults (no device CA, no bulk registration)', () => {
  it('creates no CA, JITP template, provisioning role or bulk registration role', () => {
    const { resources, outputs } = resolveTemplate(template, required);
    for (const id of [...JITP_IDS, ...BULK_IDS]) expect(resources[id], id).toBeUndefined();
    expect(Object.keys(outputs)).not.toContain('BulkRegistrationRoleArn');
    expect(Object.keys(outputs)).not.toContain('SensorProvisioningRoleArn');
    expect(failingRules(template, required)).toEqual([]);
  });

  it('always creates the sensor thing type and the environment sensor group the policy goes on', () => {
    const { resources, outputs } = resolveTemplate(template, required);
    expect(resources.SensorThingGroup!.Properties.ThingGroupName).toEqual({ 'Fn::Sub': THING_LAYOUT.sensorGroupPattern });
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['SensorThingTypeName', 'SensorThingGroupName']));
  });
});

describe('buildProvisioning: bulk registration (EnableBulkRegistration)', () => {
  it('creates the bulk role only when asked, and refuses it without the operator role that alone may pass it', () => {
    const { resources, outputs } = resolveTemplate(template, withBulk());
    for (const id of BULK_IDS) expect(resources[id], id).toBeDefined();
    expect(Object.keys(outputs)).toContain('BulkRegistrationRoleArn');
    expect(failingRules(template, withBulk())).toEqual([]);
    expect(failingRules(template, { ...required, EnableBulkRegistration: 'true' })).toEqual([
      'OperatorRoleName is required when EnableBulkRegistration is true: only that role may pass the bulk role to AWS IoT',
    ]);
  });

  it('lets only the operator role pass the bulk role, and only to AWS IoT', () => {
    const policy = resolveTemplate(template, withBulk()).resources.BulkRegistrationPassRolePolicy!.Properties;
    expect(policy.Roles).toEqual(['city-operator']);
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'PassBulkRegistrationRoleToIot',
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BulkRegistrationRole}' },
        Condition: { StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' } },
      },
    ]);
  });
});

describe('buildProvisioning: JITP on', () => {
  it('registers the CA active, with auto-registration, in DEFAULT mode, with the verification certificate', () => {
    const { resources } = resolveTemplate(template, withCa());
    expect(resources.DeviceCaCertificate).toMatchObject({
      Type: 'AWS::IoT::CACertificate',
      Properties: {
        CACertificatePem: ca.certificatePem,
        VerificationCertificatePem: verification.certificatePem,
        Status: 'ACTIVE',
        AutoRegistrationStatus: 'ENABLE',
        CertificateMode: 'DEFAULT',
        RegistrationConfig: { TemplateName: { Ref: 'SensorProvisioningTemplate' } },
      },
    });
  });

  it('attaches a JITP-type provisioning template that assumes the provisioning role', () => {
    const { resources } = resolveTemplate(template, withCa());
    expect(resources.SensorProvisioningTemplate!.Properties).toMatchObject({
      TemplateType: 'JITP',
      Enabled: true,
      ProvisioningRoleArn: { 'Fn::GetAtt': ['SensorProvisioningRole', 'Arn'] },
    });
  });

  it('outputs the JITP role, template and CA only with JITP, unexported (moto 5.2 fails CreateStack on the Export of a false-condition output)', () => {
    const outputs = committedTemplate().Outputs as Record<string, { Condition?: string; Export?: unknown }>;
    for (const key of ['SensorProvisioningRoleArn', 'SensorProvisioningTemplateName', 'DeviceCaCertificateId']) {
      expect(outputs[key], key).toMatchObject({ Condition: 'HasDeviceCa' });
      expect(outputs[key]!.Export, key).toBeUndefined();
    }
    for (const [key, output] of Object.entries(outputs)) if (output.Condition) expect(output.Export, key).toBeUndefined();
  });

  it('rejects a CA without its verification certificate before any resource is touched', () => {
    expect(failingRules(template, { ...required, DeviceCaCertificatePem: ca.certificatePem })).toEqual([
      'DeviceCaVerificationCertificatePem is required when DeviceCaCertificatePem is set',
    ]);
    expect(failingRules(template, withCa())).toEqual([]);
  });

  it('accepts real PEM certificates and nothing else in the CA parameters', () => {
    for (const name of ['DeviceCaCertificatePem', 'DeviceCaVerificationCertificatePem']) {
      const pattern = new RegExp((template.Parameters[name] as { AllowedPattern: string }).AllowedPattern);
      expect(pattern.test(ca.certificatePem), name).toBe(true);
      expect(pattern.test(''), name).toBe(true);
      expect(pattern.test(ca.keyPem), name).toBe(false);
      expect(pattern.test('not a certificate'), name).toBe(false);
    }
  });
});

describe('the JITP provisioning template body', () => {
  const body = JSON.parse(jitpTemplateBody(REGISTRY));

  it('names the thing from the certificate CN, of the sensor type, and attaches no policy (the sensor group carries it)', () => {
    expect(body.Resources.thing.Properties.ThingName).toEqual({ Ref: JITP_SUBJECT.commonName });
    expect(body.Resources.thing.Properties.ThingTypeName).toBe('tapstack-dev-sensor');
    expect(Object.values(body.Resources).map((r) => (r as { Type: string }).Type)).toEqual(['AWS::IoT::Thing', 'AWS::IoT::Certificate']);
  });

  it('puts the thing in its zone group (OU) and the sensor group, and sets zone and location (dnQualifier) attributes', () => {
    const thing = body.Resources.thing;
    expect(thing.Properties.ThingGroups).toEqual([{ Ref: JITP_SUBJECT.organizationalUnit }, 'tapstack-dev-sensors']);
    expect(thing.Properties.AttributePayload).toEqual({
      [THING_LAYOUT.attributes.zone]: { Ref: JITP_SUBJECT.organizationalUnit },
      [THING_LAYOUT.attributes.location]: { Ref: JITP_SUBJECT.dnQualifier },
    });
  });

  it('never merges into an existing thing: every property of an existing thing fails the run', () => {
    expect(body.Resources.thing.OverrideSettings).toEqual({ AttributePayload: 'FAIL', ThingTypeName: 'FAIL', ThingGroups: 'FAIL' });
    expect(EXISTING_THING).toEqual(body.Resources.thing.OverrideSettings);
  });

  it('activates the auto-registered certificate by id and never re-activates a revoked one', () => {
    expect(body.Resources.certificate).toEqual({
      Type: 'AWS::IoT::Certificate',
      Properties: { CertificateId: { Ref: JITP_SUBJECT.certificateId }, Status: 'ACTIVE' },
      OverrideSettings: { Status: 'DO_NOTHING' },
    });
  });

  it('declares only subject fields JITP can read, with a default for the optional one', () => {
    expect(Object.keys(body.Parameters).sort()).toEqual(Object.values(JITP_SUBJECT).sort());
    expect(body.Parameters[JITP_SUBJECT.dnQualifier].Default).toBe('');
    expect(body.Parameters[JITP_SUBJECT.commonName].Default).toBeUndefined();
  });

  it('reaches CloudFormation with the thing type and the sensor group of the environment substituted', () => {
    const text = committedTemplate().Resources.SensorProvisioningTemplate!.Properties.TemplateBody['Fn::Sub'] as string;
    const thing = JSON.parse(text).Resources.thing.Properties;
    expect(thing.ThingTypeName).toBe('${SensorThingType}');
    expect(thing.ThingGroups[1]).toBe('tapstack-${EnvironmentSuffix}-sensors');
    expect(text.length).toBeLessThanOrEqual(MAX_TEMPLATE_BODY_CHARS);
  });
});

describe('the bulk registration template body', () => {
  it('declares exactly the parameters of a registration line, CSR or certificate', () => {
    const csr = JSON.parse(bulkTemplateBody({ kind: 'csr' }, REGISTRY));
    expect(Object.keys(csr.Parameters)).toEqual(bulkParameterNames({ kind: 'csr' }));
    expect(csr.Resources.certificate.Properties).toEqual({ CertificateSigningRequest: { Ref: BULK_PARAMETERS.csr }, Status: 'ACTIVE' });
    const signed = JSON.parse(bulkTemplateBody({ kind: 'certificate', caCertificatePem: ca.certificatePem }, REGISTRY));
    expect(Object.keys(signed.Parameters)).toEqual(bulkParameterNames({ kind: 'certificate', caCertificatePem: '' }));
    expect(signed.Resources.certificate.Properties).toEqual({
      CertificatePem: { Ref: BULK_PARAMETERS.certificatePem },
      CACertificatePem: ca.certificatePem,
      Status: 'ACTIVE',
    });
  });

  it('gives bulk-registered sensors the JITP layout plus installed_at, create-only, with no policy of their own', () => {
    const { Resources } = JSON.parse(bulkTemplateBody({ kind: 'csr' }, REGISTRY));
    expect(Resources.thing.Properties.ThingGroups).toEqual([{ Ref: BULK_PARAMETERS.zone }, 'tapstack-dev-sensors']);
    expect(Object.keys(Resources.thing.Properties.AttributePayload)).toEqual(Object.values(THING_LAYOUT.attributes));
    expect(Resources.thing.OverrideSettings).toEqual(EXISTING_THING);
    expect(Resources.policy).toBeUndefined();
  });

  it('fits the 10,240-character limit with a 2,048-bit RSA CA inlined', () => {
    expect(bulkTemplateBody({ kind: 'certificate', caCertificatePem: ca.certificatePem }, { thingTypeName: 'tapstack-prod-sensor', sensorGroup: 'tapstack-prod-sensors' }).length).toBeLessThan(
      MAX_TEMPLATE_BODY_CHARS,
    );
  });
});

describe('provisioning roles: least privilege', () => {
  let resources: Record<string, Record<string, any>>;
  beforeAll(() => {
    resources = resolveTemplate(template, { ...withCa(), ...withBulk() }).resources;
  });

  it('trust only iot.amazonaws.com acting for this account and Region', () => {
    for (const id of ['SensorProvisioningRole', 'BulkRegistrationRole']) {
      const [trust] = resources[id]!.Properties.AssumeRolePolicyDocument.Statement;
      expect(trust.Principal).toEqual({ Service: 'iot.amazonaws.com' });
      expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
      expect(JSON.stringify(trust.Condition.ArnLike)).toContain('iot:${AWS::Region}:${AWS::AccountId}:*');
    }
  });

  it('use "*" only for the IoT actions that have no resource type', () => {
    expect(statements(resources.SensorProvisioningRole!, UNSCOPED_PROVISIONING_POLICY)[0]!.Action).toEqual(['iot:RegisterThing']);
    expect(statements(resources.BulkRegistrationRole!, UNSCOPED_PROVISIONING_POLICY)[0]!.Action).toEqual([
      'iot:RegisterThing',
      'iot:CreateCertificateFromCsr',
      'iot:RegisterCertificate',
    ]);
  });

  it('grant no policy action at all (no AttachPolicy on any certificate), no change to an existing thing, nothing that removes or deletes', () => {
    for (const id of ['SensorProvisioningRole', 'BulkRegistrationRole']) {
      const actions: string[] = actionsOf(resources[id]!);
      expect(actions.filter((a) => /Polic|UpdateThing|Delete|Detach|Remove|Replace/.test(a)), id).toEqual([]);
    }
  });

  it('lets the bulk role read only registration files, decrypting only through S3', () => {
    const doc = statements(resources.BulkRegistrationRole!, 'register-sensors');
    expect(doc.find((s) => s.Sid === 'ReadRegistrationFiles')).toMatchObject({
      Action: ['s3:GetObject'],
      Resource: { 'Fn::Sub': ['${BucketArn}/provisioning/${EnvironmentSuffix}/*', { BucketArn: { 'Fn::GetAtt': ['RawDataBucket', 'Arn'] } }] },
    });
    expect(doc.find((s) => s.Sid === 'DecryptRegistrationFiles')!.Condition).toEqual({
      StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } },
    });
  });


});

describe('zones from the registry (message enrichment)', () => {
  const resources = buildTemplate().Resources;

  it('declares the sensor thing type, which propagates the zone attribute as the tapstack:zone user property', () => {
    const type = resources.SensorThingType!;
    expect(type.Type).toBe('AWS::IoT::ThingType');
    expect(type.Properties.ThingTypeProperties.Mqtt5Configuration.PropagatingAttributes).toEqual([
      { UserPropertyKey: REGISTRY_ZONE.userPropertyKey, ThingAttribute: THING_LAYOUT.attributes.zone },
    ]);
  });

  it('gives every JITP and bulk-registered thing that type', () => {
    const jitp = resources.SensorProvisioningTemplate!.Properties.TemplateBody['Fn::Sub'] as string;
    expect(JSON.parse(jitp).Resources.thing.Properties.ThingTypeName).toBe('${SensorThingType}');
    const bulk = JSON.parse(bulkTemplateBody({ kind: 'csr' }, REGISTRY));
    expect(bulk.Resources.thing.Properties.ThingTypeName).toBe('tapstack-dev-sensor');
  });

  it("has the topic rule copy every value of the propagated zone property into the record's registry_zones", () => {
    const sql = resources.SensorTopicRule!.Properties.TopicRulePayload.Sql['Fn::Sub'] as string;
    expect(sql).toContain(`get_user_properties('${REGISTRY_ZONE.userPropertyKey}') AS ${RULE_RECORD.registryZones}`);
  });
});

describe('just-in-time provisioning with the stack template (as AWS IoT documents it: scripts/simulate/jitp.ts)', () => {
  let pki: LocalPki;
  beforeAll(async () => {
    pki = await createLocalPki();
  });
  const body = jitpTemplateBody(REGISTRY);
  const registryWithZones = () => {
    const registry = new LocalRegistry();
    registry.thingTypes.set(REGISTRY.thingTypeName, { [REGISTRY_ZONE.userPropertyKey]: REGISTRY_ZONE.thingAttribute });
    for (const group of ['zone-01', 'zone-02', REGISTRY.sensorGroup]) registry.thingGroups.add(group);
    registry.policyGroups.add(REGISTRY.sensorGroup);
    return registry;
  };

  it('makes a new sensor: its thing of the sensor type in its zone and the sensor group, its certificate active and attached', async () => {
    const registry = registryWithZones();
    const device = await sensorIdentity(pki, 'sensor-new', 'zone-01', '52.37,4.89');
    const { thing, certificateId } = justInTimeProvision(registry, body, device.certificatePem);
    expect(thing).toBe('sensor-new');
    const made = registry.things.get('sensor-new')!;
    expect(made).toMatchObject({ thingTypeName: REGISTRY.thingTypeName, attributes: { zone: 'zone-01', location: '52.37,4.89' } });
    expect([...made.groups]).toEqual(['zone-01', REGISTRY.sensorGroup]);
    expect(registry.certificates.get(certificateId)).toBe('ACTIVE');
    expect(registry.connection(certificateId, 'sensor-new')).toMatchObject({ isAttached: true, thingTypeName: REGISTRY.thingTypeName });
  });

  it('refuses a second certificate for an existing sensor: conflict, the certificate neither active nor attached, the sensor unchanged', async () => {
    const registry = registryWithZones();
    const real = await sensorIdentity(pki, 'sensor-7', 'zone-01', '1,1');
    const { certificateId: realCertificate } = justInTimeProvision(registry, body, real.certificatePem);
    // The CA signed another certificate naming the same sensor, in another zone.
    const impostor = await sensorIdentity(pki, 'sensor-7', 'zone-02', '2,2');
    expect(() => justInTimeProvision(registry, body, impostor.certificatePem)).toThrow(ResourceConflictsException);
    const impostorId = fingerprintOf(impostor.certificatePem);
    expect(registry.certificates.get(impostorId)).toBe('PENDING_ACTIVATION');
    const sensor = registry.things.get('sensor-7')!;
    expect([...sensor.certificates]).toEqual([realCertificate]);
    expect(sensor.attributes.zone).toBe('zone-01');
    expect([...sensor.groups]).toEqual(['zone-01', REGISTRY.sensorGroup]);
    // So it cannot connect as the sensor (IoT refuses a certificate that is not active).
    expect(registry.connection(impostorId, 'sensor-7')).toBe('certificate pending activation');
  });

  it('refuses a sensor of a zone the city has not created (the zone group must exist)', async () => {
    const device = await sensorIdentity(pki, 'sensor-far', 'zone-99', '0,0');
    expect(() => justInTimeProvision(registryWithZones(), body, device.certificatePem)).toThrow(/thing group zone-99 does not exist/);
  });
});
