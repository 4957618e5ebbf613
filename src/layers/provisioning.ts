/**
 * Device provisioning: how 50,000 sensors get a thing, a certificate and the sensor policy without
 * an operator touching each one.
 *
 *  - Just-in-time provisioning (JITP): the city's or vendor's CA is registered with auto-registration
 *    and a JITP provisioning template. A device whose certificate that CA signed is provisioned on
 *    its first connect. Off unless `DeviceCaCertificatePem` is set.
 *  - Bulk registration (`npm run provision`): StartThingRegistrationTask with a registration file
 *    in S3 and the bulk template built here (bulkTemplateBody), assuming BulkRegistrationRole.
 *
 * Both paths give a sensor the same registry layout (THING_LAYOUT): thing name = sensor id, member
 * of the thing group named after its zone (a child of ZONE_PARENT_GROUP), attributes zone, location
 * ("lat,lon") and installed_at, the stack's SensorPolicy on its certificate.
 *
 * Sources:
 *  - CloudFormation supports both ways of attaching a JITP template to a CA: AWS::IoT::CACertificate
 *    RegistrationConfig takes TemplateBody + RoleArn, or TemplateName of an AWS::IoT::ProvisioningTemplate
 *    whose TemplateType is JITP. The named template is used here: it is a resource of its own
 *    (versioned, visible in `aws iot describe-provisioning-template`) and carries its role.
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iot-cacertificate.html
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iot-provisioningtemplate.html
 *    https://docs.aws.amazon.com/iot/latest/developerguide/jit-provisioning.html ("Register CA using
 *    provisioning template name": `--registration-config templateName=...`, template created with `--type JITP`)
 *  - Template syntax (Parameters, Resources, OverrideSettings, PolicyName of an existing policy;
 *    a JITP template must use CertificateId): https://docs.aws.amazon.com/iot/latest/developerguide/provision-template.html
 *  - CertificateMode DEFAULT needs a verification certificate (CN = the account's registration code);
 *    SNI_ONLY must not have one: https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCACertificate.html
 */
import { IAM, IoT } from 'cloudform-types';
import { REGISTRY_ZONE } from '../../contract';
import { tags, type TagConfig } from '../defaults';
import { allow, arn, assumedBy, policyDocument, type PolicyStatement } from '../iam';
import { exported, type Layer } from '../layer';
import { accountId, arnOf, getAtt, ifCondition, ref, sub } from '../intrinsics';
import { LogicalId, physicalName } from '../names';
import { Cond, Param, param } from '../parameters';

/**
 * The registry layout of a provisioned sensor. Three attributes, not four: CreateThing takes
 * "up to three name/value pairs" (https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
 * so latitude and longitude travel together as `location` = "lat,lon" (',' is allowed in attribute
 * values: https://docs.aws.amazon.com/iot/latest/apireference/API_AttributePayload.html).
 */
/** The sensors' thing type is `tapstack-<env>-<this>`. */
export const SENSOR_THING_TYPE_BASE = 'sensor';

export const THING_LAYOUT = {
  attributes: { zone: REGISTRY_ZONE.thingAttribute, location: 'location', installedAt: 'installed_at' },
  /**
   * Zone thing groups are children of this group, so `ListThingGroups --parent-group` lists the
   * city's zones. Thing groups (and things) are per account and Region, not per stack: one name.
   */
  zoneParentGroup: 'tapstack-zones',
} as const;

/**
 * Certificate subject fields JITP can read, and what each carries here. JITP can read only C, O,
 * OU, dnQualifier, ST, CN and serialNumber of the subject, plus the certificate id
 * (https://docs.aws.amazon.com/iot/latest/developerguide/jit-provisioning.html). None is meant for
 * a date, so installed_at is not taken from the certificate: bulk registration sets it from the CSV.
 */
export const JITP_SUBJECT = {
  /** The thing name: the sensor id (required). */
  commonName: 'AWS::IoT::Certificate::CommonName',
  /** The zone id: thing group and `zone` attribute (required). */
  organizationalUnit: 'AWS::IoT::Certificate::OrganizationalUnit',
  /** "lat,lon": the `location` attribute (optional: defaults to empty). */
  dnQualifier: 'AWS::IoT::Certificate::DistinguishedNameQualifier',
  certificateId: 'AWS::IoT::Certificate::Id',
} as const;

/** StartThingRegistrationTask and RegisterCACertificate take a template body of at most 10,240 characters. */
export const MAX_TEMPLATE_BODY_CHARS = 10_240;

/** Objects under this prefix of the stack's raw-data bucket are registration files BulkRegistrationRole may read. */
export const REGISTRATION_PREFIX = 'provisioning/';

const str = { Type: 'String' } as const;
const refTo = (name: string) => ({ Ref: name });

/**
 * A provisioning-template thing: named, of the sensor thing type (which propagates its zone to every
 * message it publishes: REGISTRY_ZONE), in its zone group, with the layout's attributes.
 */
function thingResource(name: unknown, zone: unknown, location: unknown, installedAt: unknown, thingTypeName: string | undefined) {
  const a = THING_LAYOUT.attributes;
  return {
    Type: 'AWS::IoT::Thing',
    Properties: {
      ThingName: name,
      ...(thingTypeName ? { ThingTypeName: thingTypeName } : {}),
      AttributePayload: { [a.zone]: zone, [a.location]: location, ...(installedAt ? { [a.installedAt]: installedAt } : {}) },
      ThingGroups: [zone],
    },
    // A re-provisioned sensor (new certificate, same thing) keeps its other attributes and groups.
    OverrideSettings: { AttributePayload: 'MERGE', ThingGroups: 'MERGE' },
  };
}

const policyResource = (policyName: string) => ({ Type: 'AWS::IoT::Policy', Properties: { PolicyName: policyName } });

/**
 * The JITP provisioning template (JSON text). `policyName` is the sensor policy's name; in the
 * CloudFormation template it is `${SensorPolicy}`, resolved by Fn::Sub.
 */
export function jitpTemplateBody(policyName: string, thingTypeName?: string): string {
  const s = JITP_SUBJECT;
  return JSON.stringify({
    Parameters: {
      [s.commonName]: str,
      [s.organizationalUnit]: str,
      // Default per the provisioning-template Parameters section; see docs/provisioning.md for the caveat.
      [s.dnQualifier]: { Type: 'String', Default: '' },
      [s.certificateId]: str,
    },
    Resources: {
      thing: thingResource(refTo(s.commonName), refTo(s.organizationalUnit), refTo(s.dnQualifier), undefined, thingTypeName),
      certificate: {
        Type: 'AWS::IoT::Certificate',
        Properties: { CertificateId: refTo(s.certificateId), Status: 'ACTIVE' },
        // Never re-activate a certificate an operator revoked or deactivated.
        OverrideSettings: { Status: 'DO_NOTHING' },
      },
      policy: policyResource(policyName),
    },
  });
}

/** How the bulk registration file carries each device's certificate. */
export type BulkCertificateSource =
  /** AWS IoT signs the CSR (Amazon Root CA). */
  | { kind: 'csr' }
  /** Signed locally by a CA registered with AWS IoT; its PEM is a literal of the template, not of every line. */
  | { kind: 'certificate'; caCertificatePem: string };

/** The parameters of one bulk registration line: the keys of every JSON line, in this order. */
export const BULK_PARAMETERS = {
  thingName: 'ThingName',
  zone: 'Zone',
  location: 'Location',
  installedAt: 'InstalledAt',
  csr: 'CSR',
  certificatePem: 'CertificatePem',
} as const;

/** The parameter names a bulk template with this certificate source declares. */
export function bulkParameterNames(source: BulkCertificateSource): string[] {
  const p = BULK_PARAMETERS;
  return [p.thingName, p.zone, p.location, p.installedAt, source.kind === 'csr' ? p.csr : p.certificatePem];
}

/**
 * The bulk registration template (JSON text) for StartThingRegistrationTask. `thingTypeName` is the
 * stack's SensorThingTypeName output (without it, things get no type and their zone is not propagated).
 */
export function bulkTemplateBody(policyName: string, source: BulkCertificateSource, thingTypeName?: string): string {
  const p = BULK_PARAMETERS;
  const certificate =
    source.kind === 'csr'
      ? { CertificateSigningRequest: refTo(p.csr), Status: 'ACTIVE' }
      : { CertificatePem: refTo(p.certificatePem), CACertificatePem: source.caCertificatePem, Status: 'ACTIVE' };
  return JSON.stringify({
    Parameters: Object.fromEntries(bulkParameterNames(source).map((name) => [name, str])),
    Resources: {
      thing: thingResource(refTo(p.thingName), refTo(p.zone), refTo(p.location), refTo(p.installedAt), thingTypeName),
      certificate: { Type: 'AWS::IoT::Certificate', Properties: certificate },
      policy: policyResource(policyName),
    },
  });
}

const iotArn = (resource: string) => arn('iot', resource);

/**
 * What a provisioning template run needs, by resource ARN where IoT supports one (resource types per
 * action: https://docs.aws.amazon.com/iot/latest/developerguide/security_iam_service-with-iam.html).
 * A subset of the AWS managed policy AWSIoTThingsRegistration
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSIoTThingsRegistration.html)
 * without CreatePolicy (the template names the stack's policy), the Detach/Remove actions
 * (OverrideSettings MERGE never removes), billing groups and thing types (not used).
 * Thing, certificate and group names are the sensors' own, so those ARNs end in `*`.
 */
function provisioningStatements(): PolicyStatement[] {
  const things = iotArn('thing/*');
  const certificates = iotArn('cert/*');
  const groups = iotArn('thinggroup/*');
  const sensorPolicy = sub('arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:policy/${SensorPolicy}');
  return [
    allow(
      'CreateAndUpdateSensorThings',
      ['iot:CreateThing', 'iot:DescribeThing', 'iot:UpdateThing', 'iot:ListThingGroupsForThing', 'iot:ListThingPrincipals'],
      things,
    ),
    allow('AddSensorsToZoneGroups', ['iot:AddThingToThingGroup', 'iot:DescribeThingGroup'], [things, groups]),
    allow(
      'ActivateAndAttachCertificates',
      [
        'iot:DescribeCertificate',
        'iot:UpdateCertificate',
        'iot:AttachThingPrincipal',
        'iot:AttachPolicy',
        'iot:AttachPrincipalPolicy',
        'iot:ListAttachedPolicies',
        'iot:ListPrincipalPolicies',
        'iot:ListPrincipalThings',
      ],
      certificates,
    ),
    allow('ReadSensorPolicy', ['iot:GetPolicy', 'iot:ListPolicyPrincipals', 'iot:ListTargetsForPolicy'], sensorPolicy),
  ];
}

/**
 * Actions without a resource type (same IAM table: "None" or "*"), so `Resource: "*"` is the only
 * form IAM accepts. They sit in a policy document of their own, the security test's listed exception.
 */
export const UNSCOPED_PROVISIONING_POLICY = 'provisioning-actions-without-resource-types';

function unscopedPolicy(actions: string[]) {
  return {
    PolicyName: UNSCOPED_PROVISIONING_POLICY,
    PolicyDocument: policyDocument(allow('ActionsWithoutResourceTypes', actions, '*')),
  };
}

/**
 * iot.amazonaws.com may assume the roles only for this account and Region (confused-deputy guard:
 * https://docs.aws.amazon.com/iot/latest/developerguide/cross-service-confused-deputy-prevention.html).
 */
const iotTrust = () =>
  assumedBy('iot.amazonaws.com', {
    StringEquals: { 'aws:SourceAccount': accountId },
    ArnLike: { 'aws:SourceArn': iotArn('*') },
  });

export function buildProvisioning(config: TagConfig): Layer {
  const provisioningRole = new IAM.Role({
    Description: 'AWS IoT just-in-time provisioning: create the sensor thing, attach its certificate and the sensor policy',
    AssumeRolePolicyDocument: iotTrust(),
    Policies: [
      { PolicyName: 'provision-sensors', PolicyDocument: policyDocument(...provisioningStatements()) },
      unscopedPolicy(['iot:RegisterThing']),
    ],
    Tags: tags(config),
  }).condition(Cond.HasDeviceCa);

  const provisioningTemplate = new IoT.ProvisioningTemplate({
    TemplateName: physicalName('sensor-jitp'),
    Description: 'Sensor thing named from the certificate CN, zone group from OU, location from dnQualifier',
    TemplateType: 'JITP',
    Enabled: true,
    ProvisioningRoleArn: arnOf(LogicalId.SensorProvisioningRole),
    TemplateBody: sub(jitpTemplateBody('${SensorPolicy}', '${SensorThingType}')),
    Tags: tags(config),
  }).condition(Cond.HasDeviceCa);

  const caCertificate = new IoT.CACertificate({
    CACertificatePem: param(Param.DeviceCaCertificatePem),
    // Always set when HasDeviceCa (rule DeviceCaNeedsVerificationCertificate); the Fn::If tells cfn-lint so.
    VerificationCertificatePem: ifCondition(Cond.HasDeviceCaVerification, param(Param.DeviceCaVerificationCertificatePem)),
    CertificateMode: 'DEFAULT',
    Status: 'ACTIVE',
    AutoRegistrationStatus: 'ENABLE',
    RegistrationConfig: { TemplateName: ref(LogicalId.SensorProvisioningTemplate) },
    Tags: tags(config),
  }).condition(Cond.HasDeviceCa);

  // Every sensor's thing is of this type: it sends the thing's zone with each message (REGISTRY_ZONE).
  const thingType = new IoT.ThingType({
    ThingTypeName: physicalName(SENSOR_THING_TYPE_BASE),
    ThingTypeProperties: {
      ThingTypeDescription: 'TapStack road sensor: its zone attribute travels with every reading (tapstack:zone user property)',
      Mqtt5Configuration: {
        PropagatingAttributes: [{ UserPropertyKey: REGISTRY_ZONE.userPropertyKey, ThingAttribute: REGISTRY_ZONE.thingAttribute }],
      },
    },
    Tags: tags(config),
  });

  const bulkRole = new IAM.Role({
    Description: 'AWS IoT bulk registration (npm run provision): read the registration file, register sensors',
    AssumeRolePolicyDocument: iotTrust(),
    Policies: [
      {
        PolicyName: 'register-sensors',
        PolicyDocument: policyDocument(
          allow(
            'ReadRegistrationFiles',
            ['s3:GetObject'],
            sub(`\${BucketArn}/${REGISTRATION_PREFIX}*`, { BucketArn: arnOf(LogicalId.RawDataBucket) }),
          ),
          allow('DecryptRegistrationFiles', ['kms:Decrypt'], arnOf(LogicalId.EncryptionKey), {
            StringEquals: { 'kms:ViaService': sub('s3.${AWS::Region}.amazonaws.com') },
          }),
          ...provisioningStatements(),
        ),
      },
      unscopedPolicy(['iot:RegisterThing', 'iot:CreateCertificateFromCsr', 'iot:RegisterCertificate']),
    ],
    Tags: tags(config),
  });

  // Not exported: moto 5.2 resolves the Export of an output whose Condition is false, and fails CreateStack.
  const whenCa = (Description: string, Value: unknown) => ({ Description, Value, Condition: Cond.HasDeviceCa });
  return {
    resources: {
      SensorThingType: thingType,
      SensorProvisioningRole: provisioningRole,
      SensorProvisioningTemplate: provisioningTemplate,
      DeviceCaCertificate: caCertificate,
      BulkRegistrationRole: bulkRole,
    },
    outputs: {
      SensorThingTypeName: exported('Thing type of every sensor (propagates its zone to its readings)', ref(LogicalId.SensorThingType), 'SensorThingTypeName'),
      BulkRegistrationRoleArn: exported(
        'Role AWS IoT assumes for StartThingRegistrationTask (npm run provision)',
        arnOf(LogicalId.BulkRegistrationRole),
        'BulkRegistrationRoleArn',
      ),
      SensorProvisioningRoleArn: whenCa('Role AWS IoT assumes for just-in-time provisioning', arnOf(LogicalId.SensorProvisioningRole)),
      SensorProvisioningTemplateName: whenCa('JITP template attached to the device CA', ref(LogicalId.SensorProvisioningTemplate)),
      DeviceCaCertificateId: whenCa('Device CA registered with auto-registration (JITP)', getAtt(LogicalId.DeviceCaCertificate, 'Id')),
    },
  };
}
