import { beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_ZONE, RULE_FIELDS } from '../../contract';
import type { PolicyStatement } from '../../src/iam';
import { buildTemplate } from '../../src/index';
import {
  BULK_PARAMETERS,
  bulkParameterNames,
  bulkTemplateBody,
  JITP_SUBJECT,
  jitpTemplateBody,
  MAX_TEMPLATE_BODY_CHARS,
  THING_LAYOUT,
  UNSCOPED_PROVISIONING_POLICY,
} from '../../src/layers/provisioning';
import { failingRules, resolveTemplate } from '../../scripts/lib/cfn-eval';
import { makeCa, type TestCa } from '../helpers/pki';
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

describe('buildProvisioning: JITP off (DeviceCaCertificatePem empty, the default)', () => {
  it('creates no CA, JITP template or provisioning role, but the bulk registration role', () => {
    const { resources, outputs } = resolveTemplate(template, required);
    for (const id of JITP_IDS) expect(resources[id], id).toBeUndefined();
    expect(resources.BulkRegistrationRole?.Type).toBe('AWS::IAM::Role');
    expect(Object.keys(outputs)).toContain('BulkRegistrationRoleArn');
    expect(Object.keys(outputs)).not.toContain('SensorProvisioningRoleArn');
    expect(failingRules(template, required)).toEqual([]);
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
  const body = JSON.parse(jitpTemplateBody('tapstack-dev-sensor'));

  it('names the thing from the certificate CN and attaches the stack sensor policy', () => {
    expect(body.Resources.thing.Properties.ThingName).toEqual({ Ref: JITP_SUBJECT.commonName });
    expect(body.Resources.policy).toEqual({ Type: 'AWS::IoT::Policy', Properties: { PolicyName: 'tapstack-dev-sensor' } });
  });

  it('puts the thing in its zone group (OU) and sets zone and location (dnQualifier) attributes', () => {
    const thing = body.Resources.thing;
    expect(thing.Properties.ThingGroups).toEqual([{ Ref: JITP_SUBJECT.organizationalUnit }]);
    expect(thing.Properties.AttributePayload).toEqual({
      [THING_LAYOUT.attributes.zone]: { Ref: JITP_SUBJECT.organizationalUnit },
      [THING_LAYOUT.attributes.location]: { Ref: JITP_SUBJECT.dnQualifier },
    });
    expect(thing.OverrideSettings).toEqual({ AttributePayload: 'MERGE', ThingGroups: 'MERGE' });
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

  it('reaches CloudFormation with the sensor policy name substituted', () => {
    const text = committedTemplate().Resources.SensorProvisioningTemplate!.Properties.TemplateBody['Fn::Sub'] as string;
    expect(JSON.parse(text).Resources.policy.Properties.PolicyName).toBe('${SensorPolicy}');
    expect(text.length).toBeLessThanOrEqual(MAX_TEMPLATE_BODY_CHARS);
  });
});

describe('the bulk registration template body', () => {
  it('declares exactly the parameters of a registration line, CSR or certificate', () => {
    const csr = JSON.parse(bulkTemplateBody('p', { kind: 'csr' }));
    expect(Object.keys(csr.Parameters)).toEqual(bulkParameterNames({ kind: 'csr' }));
    expect(csr.Resources.certificate.Properties).toEqual({ CertificateSigningRequest: { Ref: BULK_PARAMETERS.csr }, Status: 'ACTIVE' });
    const signed = JSON.parse(bulkTemplateBody('p', { kind: 'certificate', caCertificatePem: ca.certificatePem }));
    expect(Object.keys(signed.Parameters)).toEqual(bulkParameterNames({ kind: 'certificate', caCertificatePem: '' }));
    expect(signed.Resources.certificate.Properties).toEqual({
      CertificatePem: { Ref: BULK_PARAMETERS.certificatePem },
      CACertificatePem: ca.certificatePem,
      Status: 'ACTIVE',
    });
  });

  it('gives bulk-registered sensors the JITP layout plus installed_at', () => {
    const thing = JSON.parse(bulkTemplateBody('p', { kind: 'csr' })).Resources.thing;
    expect(thing.Properties.ThingGroups).toEqual([{ Ref: BULK_PARAMETERS.zone }]);
    expect(Object.keys(thing.Properties.AttributePayload)).toEqual(Object.values(THING_LAYOUT.attributes));
  });

  it('fits the 10,240-character limit with a 2,048-bit RSA CA inlined', () => {
    expect(bulkTemplateBody('tapstack-prod-sensor', { kind: 'certificate', caCertificatePem: ca.certificatePem }).length).toBeLessThan(
      MAX_TEMPLATE_BODY_CHARS,
    );
  });
});

describe('provisioning roles: least privilege', () => {
  let resources: Record<string, Record<string, any>>;
  beforeAll(() => {
    resources = resolveTemplate(template, withCa()).resources;
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

  it('grant neither policy creation nor anything that removes or deletes', () => {
    for (const id of ['SensorProvisioningRole', 'BulkRegistrationRole']) {
      const actions: string[] = actionsOf(resources[id]!);
      expect(actions.filter((a) => /Create(Policy|PolicyVersion)|Delete|Detach|Remove|Replace/.test(a)), id).toEqual([]);
    }
  });

  it('lets the bulk role read only registration files, decrypting only through S3', () => {
    const doc = statements(resources.BulkRegistrationRole!, 'register-sensors');
    expect(doc.find((s) => s.Sid === 'ReadRegistrationFiles')).toMatchObject({
      Action: ['s3:GetObject'],
      Resource: { 'Fn::Sub': ['${BucketArn}/provisioning/*', { BucketArn: { 'Fn::GetAtt': ['RawDataBucket', 'Arn'] } }] },
    });
    expect(doc.find((s) => s.Sid === 'DecryptRegistrationFiles')!.Condition).toEqual({
      StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } },
    });
  });

  it('scope the sensor policy statement to the stack policy ARN', () => {
    const read = statements(resources.SensorProvisioningRole!, 'provision-sensors').find((s) => s.Sid === 'ReadSensorPolicy')!;
    expect(read.Resource).toEqual({ 'Fn::Sub': 'arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:policy/${SensorPolicy}' });
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
    const bulk = JSON.parse(bulkTemplateBody('tapstack-dev-sensor', { kind: 'csr' }, 'tapstack-dev-sensor'));
    expect(bulk.Resources.thing.Properties.ThingTypeName).toBe('tapstack-dev-sensor');
  });

  it("has the topic rule copy the propagated zone into the reading's registry_zone", () => {
    const sql = resources.SensorTopicRule!.Properties.TopicRulePayload.Sql['Fn::Sub'] as string;
    expect(sql).toContain(`get(get_user_properties('${REGISTRY_ZONE.userPropertyKey}'), 0) AS ${RULE_FIELDS.registryZone}`);
  });
});
