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
 * Both paths give a sensor the same registry layout (THING_LAYOUT): thing name = sensor id, of the
 * environment's sensor thing type, member of the thing group named after its zone (a child of
 * ZONE_PARENT_GROUP) and of the environment's sensor group (which carries the stack's SensorPolicy:
 * no certificate gets a policy of its own, so no provisioning role may attach policies), attributes
 * zone, location ("lat,lon") and installed_at. Both create sensors and never change one: a template
 * run for a thing that exists fails (OverrideSettings FAIL), so a certificate a CA signed for an
 * existing sensor's name is never attached to it; a sensor's new certificate goes through
 * `npm run provision -- --rotate` (docs/provisioning.md).
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
import { LogicalId, physicalName, physicalNamePattern } from '../names';
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
  /**
   * The environment's sensors: every provisioned thing joins it, and `npm run deploy` attaches the
   * sensor policy to it (a policy attached to a thing group applies to its things:
   * https://docs.aws.amazon.com/iot/latest/developerguide/thing-groups.html#group-attach-policy;
   * CloudFormation cannot attach a policy to a thing group, AWS::IoT::PolicyPrincipalAttachment
   * takes certificates only: https://github.com/aws/aws-cdk/issues/26166). An Fn::Sub pattern.
   */
  sensorGroupPattern: physicalNamePattern('sensors'),
} as const;

/** The registry objects of an environment a provisioning template names: its thing type and its sensor group. */
export interface SensorRegistry {
  thingTypeName: string;
  sensorGroup: string;
}

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
 * What a template does when its thing already exists: fail, for every property. FAIL makes the
 * request fail with a ResourceConflictsException
 * (https://docs.aws.amazon.com/iot/latest/developerguide/provision-template.html#override-settings),
 * so nothing of the run happens: the certificate is not activated nor attached to the existing
 * thing, whose attributes, type and groups stay as they are. MERGE (the earlier choice) let any
 * certificate the CA signed with an existing sensor's name join that sensor, and its OU rewrite the
 * sensor's zone.
 */
export const EXISTING_THING = { AttributePayload: 'FAIL', ThingTypeName: 'FAIL', ThingGroups: 'FAIL' } as const;

/**
 * A provisioning-template thing: named, of the sensor thing type (which propagates its zone to every
 * message it publishes: REGISTRY_ZONE, and which the sensor policy requires), in its zone group and
 * the environment's sensor group (which carries the sensor policy), with the layout's attributes.
 */
function thingResource(name: unknown, zone: unknown, location: unknown, installedAt: unknown, registry: SensorRegistry) {
  const a = THING_LAYOUT.attributes;
  return {
    Type: 'AWS::IoT::Thing',
    Properties: {
      ThingName: name,
      ThingTypeName: registry.thingTypeName,
      AttributePayload: { [a.zone]: zone, [a.location]: location, ...(installedAt ? { [a.installedAt]: installedAt } : {}) },
      ThingGroups: [zone, registry.sensorGroup],
    },
    OverrideSettings: EXISTING_THING,
  };
}

/**
 * The JITP provisioning template (JSON text). In the CloudFormation template the registry names are
 * Fn::Sub patterns (`${SensorThingType}`, `tapstack-${EnvironmentSuffix}-sensors`). No policy
 * resource: the sensor group carries the policy.
 */
export function jitpTemplateBody(registry: SensorRegistry): string {
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
      thing: thingResource(refTo(s.commonName), refTo(s.organizationalUnit), refTo(s.dnQualifier), undefined, registry),
      certificate: {
        Type: 'AWS::IoT::Certificate',
        Properties: { CertificateId: refTo(s.certificateId), Status: 'ACTIVE' },
        // Never re-activate a certificate an operator revoked or deactivated.
        OverrideSettings: { Status: 'DO_NOTHING' },
      },
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
 * The bulk registration template (JSON text) for StartThingRegistrationTask, with the stack's
 * SensorThingTypeName and SensorThingGroupName outputs. Like JITP, it creates sensors and never
 * changes one (EXISTING_THING).
 */
export function bulkTemplateBody(source: BulkCertificateSource, registry: SensorRegistry): string {
  const p = BULK_PARAMETERS;
  const certificate =
    source.kind === 'csr'
      ? { CertificateSigningRequest: refTo(p.csr), Status: 'ACTIVE' }
      : { CertificatePem: refTo(p.certificatePem), CACertificatePem: source.caCertificatePem, Status: 'ACTIVE' };
  return JSON.stringify({
    Parameters: Object.fromEntries(bulkParameterNames(source).map((name) => [name, str])),
    Resources: {
      thing: thingResource(refTo(p.thingName), refTo(p.zone), refTo(p.location), refTo(p.installedAt), registry),
      certificate: { Type: 'AWS::IoT::Certificate', Properties: certificate },
    },
  });
}

const iotArn = (resource: string) => arn('iot', resource);

/**
 * What a provisioning template run needs, by resource ARN where IoT supports one (resource types per
 * action: https://docs.aws.amazon.com/iot/latest/developerguide/security_iam_service-with-iam.html).
 * A subset of the AWS managed policy AWSIoTThingsRegistration
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSIoTThingsRegistration.html):
 * create a thing and put it in its groups, activate a new certificate and attach it to the thing.
 * No policy action at all (the sensor group carries the policy), no UpdateThing (a template never
 * changes an existing thing: EXISTING_THING), no Detach/Remove/Delete, no billing groups.
 * Thing, certificate and zone group names are the sensors' own, unknown when the stack is made, so
 * those ARNs end in `*` (acknowledged for cdk-nag in tests/template/nag-acknowledgements.ts).
 */
function provisioningStatements(): PolicyStatement[] {
  const things = iotArn('thing/*');
  const certificates = iotArn('cert/*');
  const groups = iotArn('thinggroup/*');
  return [
    allow('CreateSensorThings', ['iot:CreateThing', 'iot:DescribeThing', 'iot:ListThingGroupsForThing', 'iot:ListThingPrincipals'], things),
    allow('AddSensorsToTheirGroups', ['iot:AddThingToThingGroup', 'iot:DescribeThingGroup'], [things, groups]),
    allow(
      'ActivateAndAttachNewCertificates',
      ['iot:DescribeCertificate', 'iot:UpdateCertificate', 'iot:AttachThingPrincipal', 'iot:ListPrincipalThings'],
      certificates,
    ),
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
 * That page gives `arn:aws:iot:<region>:<account>:*` as the form of the source ARN and documents no
 * narrower one for just-in-time or bulk provisioning; a guessed provisioning-template ARN would stop
 * provisioning if IoT sent another. What keeps the roles' power small is what they may do (no policy
 * attachment, create-only templates) and who can hand them to IoT (PassRole to the operator only).
 */
const iotTrust = () =>
  assumedBy('iot.amazonaws.com', {
    StringEquals: { 'aws:SourceAccount': accountId },
    ArnLike: { 'aws:SourceArn': iotArn('*') },
  });

/** The registry names as Fn::Sub patterns, for the JITP template inside the CloudFormation template. */
const REGISTRY_PATTERNS: SensorRegistry = { thingTypeName: '${SensorThingType}', sensorGroup: THING_LAYOUT.sensorGroupPattern };

export function buildProvisioning(config: TagConfig): Layer {
  const provisioningRole = new IAM.Role({
    Description: 'AWS IoT just-in-time provisioning: create a new sensor thing, put it in its groups, activate and attach its certificate',
    AssumeRolePolicyDocument: iotTrust(),
    Policies: [
      { PolicyName: 'provision-sensors', PolicyDocument: policyDocument(...provisioningStatements()) },
      unscopedPolicy(['iot:RegisterThing']),
    ],
    Tags: tags(config),
  }).condition(Cond.HasDeviceCa);

  const provisioningTemplate = new IoT.ProvisioningTemplate({
    TemplateName: physicalName('sensor-jitp'),
    Description: 'New sensor thing named from the certificate CN, zone from OU, location from dnQualifier; fails for an existing thing',
    TemplateType: 'JITP',
    Enabled: true,
    ProvisioningRoleArn: arnOf(LogicalId.SensorProvisioningRole),
    TemplateBody: sub(jitpTemplateBody(REGISTRY_PATTERNS)),
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

  // Every sensor's thing is of this type: it sends the thing's zone with each message (REGISTRY_ZONE),
  // and the sensor policy admits no thing of another type.
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

  // The environment's sensors; `npm run deploy` attaches the sensor policy to it (THING_LAYOUT.sensorGroupPattern).
  const sensorGroup = new IoT.ThingGroup({
    ThingGroupName: sub(THING_LAYOUT.sensorGroupPattern),
    ThingGroupProperties: { ThingGroupDescription: 'TapStack sensors of this environment: the sensor policy is attached to this group' },
    Tags: tags(config),
  });

  const bulkRole = new IAM.Role({
    Description: 'AWS IoT bulk registration (npm run provision): read the registration file, register new sensors',
    AssumeRolePolicyDocument: iotTrust(),
    Policies: [
      {
        PolicyName: 'register-sensors',
        PolicyDocument: policyDocument(
          allow(
            'ReadRegistrationFiles',
            ['s3:GetObject'],
            sub(`\${BucketArn}/${REGISTRATION_PREFIX}\${EnvironmentSuffix}/*`, { BucketArn: arnOf(LogicalId.RawDataBucket) }),
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
  }).condition(Cond.IsBulkRegistrationEnabled);

  // Whoever passes the bulk role to IoT writes the template body it runs: only the operator's role may.
  const operatorPassRole = new IAM.ManagedPolicy({
    Description: 'Lets the bulk registration operator (and no one else through this stack) pass BulkRegistrationRole to AWS IoT',
    Roles: [param(Param.OperatorRoleName)],
    PolicyDocument: policyDocument(
      // The role's ARN from its name (Ref): moto 5.2's change sets resolve Fn::GetAtt in a resource whose condition is false.
      allow('PassBulkRegistrationRoleToIot', ['iam:PassRole'], sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BulkRegistrationRole}'), {
        StringEquals: { 'iam:PassedToService': 'iot.amazonaws.com' },
      }),
    ),
  }).condition(Cond.IsBulkRegistrationEnabled);

  // Not exported: moto 5.2 resolves the Export of an output whose Condition is false, and fails CreateStack.
  const when = (condition: string) => (Description: string, Value: unknown) => ({ Description, Value, Condition: condition });
  const whenCa = when(Cond.HasDeviceCa);
  return {
    resources: {
      SensorThingType: thingType,
      SensorThingGroup: sensorGroup,
      SensorProvisioningRole: provisioningRole,
      SensorProvisioningTemplate: provisioningTemplate,
      DeviceCaCertificate: caCertificate,
      BulkRegistrationRole: bulkRole,
      BulkRegistrationPassRolePolicy: operatorPassRole,
    },
    outputs: {
      SensorThingTypeName: exported('Thing type of every sensor (propagates its zone to its readings)', ref(LogicalId.SensorThingType), 'SensorThingTypeName'),
      SensorThingGroupName: exported(
        'Thing group of the sensors of this environment: npm run deploy attaches the sensor policy to it',
        sub(THING_LAYOUT.sensorGroupPattern),
        'SensorThingGroupName',
      ),
      BulkRegistrationRoleArn: when(Cond.IsBulkRegistrationEnabled)(
        'Role AWS IoT assumes for StartThingRegistrationTask (npm run provision); only with EnableBulkRegistration',
        arnOf(LogicalId.BulkRegistrationRole),
      ),
      SensorProvisioningRoleArn: whenCa('Role AWS IoT assumes for just-in-time provisioning', arnOf(LogicalId.SensorProvisioningRole)),
      SensorProvisioningTemplateName: whenCa('JITP template attached to the device CA', ref(LogicalId.SensorProvisioningTemplate)),
      DeviceCaCertificateId: whenCa('Device CA registered with auto-registration (JITP)', getAtt(LogicalId.DeviceCaCertificate, 'Id')),
    },
  };
}
