/**
 * The AWS calls of `npm run provision`, each taking its client (so tests pass moto's endpoint or
 * aws-sdk-client-mock). Nothing here reads flags, files or the environment.
 */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingGroupCommand,
  DescribeThingCommand,
  RegisterCertificateCommand,
  DescribeThingGroupCommand,
  DescribeThingRegistrationTaskCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  GetRegistrationCodeCommand,
  ListAttachedPoliciesCommand,
  ListThingGroupsCommand,
  ListThingPrincipalsCommand,
  ListThingRegistrationTaskReportsCommand,
  StartThingRegistrationTaskCommand,
  UpdateCertificateCommand,
  type DescribeThingRegistrationTaskCommandOutput,
  type IoTClient,
} from '@aws-sdk/client-iot';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { THING_LAYOUT } from '../../template/layers/provisioning';
import { outputsOf } from '../lib/outputs';
import type { Zone } from './csv';

export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

const errorName = (error: unknown) => (error as { name?: string }).name ?? '';

/** The stack's outputs, or one clear line when the stack is not there. */
export async function stackOutputs(cfn: CloudFormationClient, stackName: string, region: string): Promise<Record<string, string>> {
  try {
    return outputsOf((await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]);
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) {
      throw new ProvisionError(`stack ${stackName} not found in ${region}: deploy it first (npm run deploy -- --env <env>) or pass --stack-name`);
    }
    throw error;
  }
}

/** Zones the registry knows: the thing groups under THING_LAYOUT.zoneParentGroup (none if it does not exist). */
export async function zoneGroups(iot: IoTClient): Promise<Set<string>> {
  const zones = new Set<string>();
  let nextToken: string | undefined;
  try {
    do {
      const page = await iot.send(
        new ListThingGroupsCommand({ parentGroup: THING_LAYOUT.zoneParentGroup, recursive: false, maxResults: 250, nextToken }),
      );
      for (const g of page.thingGroups ?? []) zones.add(g.groupName!);
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return zones;
    throw error;
  }
  return zones;
}

async function groupExists(iot: IoTClient, name: string): Promise<{ parent?: string } | undefined> {
  try {
    const group = await iot.send(new DescribeThingGroupCommand({ thingGroupName: name }));
    const parent = group.thingGroupMetadata?.parentGroupName;
    return parent ? { parent } : {};
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/**
 * Creates the zone parent group and a child group per zone that does not exist yet. The provisioning
 * templates add a thing to the group named after its zone, and AWS IoT does not create it.
 * @returns the zones created.
 * @throws ProvisionError when a group of a zone's name exists outside the zone parent.
 */
export async function ensureZoneGroups(iot: IoTClient, zones: Zone[], print: (line: string) => void): Promise<string[]> {
  const parent = THING_LAYOUT.zoneParentGroup;
  if (!(await groupExists(iot, parent))) {
    await iot.send(
      new CreateThingGroupCommand({
        thingGroupName: parent,
        thingGroupProperties: { thingGroupDescription: 'TapStack zones: one child group per zone, named by zone id' },
      }),
    );
    print(`created thing group ${parent}`);
  }
  const existing = await zoneGroups(iot);
  const created: string[] = [];
  for (const zone of zones.filter((z) => !existing.has(z.zoneId))) {
    const other = await groupExists(iot, zone.zoneId);
    if (other) {
      throw new ProvisionError(
        `thing group ${zone.zoneId} already exists ${other.parent ? `under ${other.parent}` : 'at the top level'}, not under ${parent}: ` +
          `rename the zone or move the group (a thing group's parent is set when it is created)`,
      );
    }
    await iot.send(
      new CreateThingGroupCommand({
        thingGroupName: zone.zoneId,
        parentGroupName: parent,
        thingGroupProperties: {
          ...(zone.description ? { thingGroupDescription: zone.description } : {}),
          attributePayload: { attributes: { [THING_LAYOUT.attributes.zone]: zone.zoneId } },
        },
      }),
    );
    created.push(zone.zoneId);
  }
  if (created.length) print(`created ${created.length} zone thing group(s) under ${parent}: ${created.join(', ')}`);
  return created;
}

export async function uploadRegistrationFile(s3: S3Client, bucket: string, key: string, body: string): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-ndjson' }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    throw new ProvisionError(
      status === 404
        ? `bucket ${bucket} not found: pass --bucket or deploy the stack (its RawDataBucketName output)`
        : `upload to s3://${bucket}/${key} failed: ${(error as Error).message}`,
    );
  }
}

export interface RegistrationTask {
  templateBody: string;
  bucket: string;
  key: string;
  roleArn: string;
}

/** StartThingRegistrationTask. Only one task may run per account at a time (bulk-provisioning.html). */
export async function startRegistrationTask(iot: IoTClient, task: RegistrationTask): Promise<string> {
  try {
    const started = await iot.send(
      new StartThingRegistrationTaskCommand({
        templateBody: task.templateBody,
        inputFileBucket: task.bucket,
        inputFileKey: task.key,
        roleArn: task.roleArn,
      }),
    );
    return started.taskId!;
  } catch (error) {
    throw new ProvisionError(
      `StartThingRegistrationTask failed (${errorName(error)}): ${(error as Error).message.split('\n')[0]}` +
        (errorName(error) === 'LimitExceededException' ? ' (only one bulk registration task may run per account: aws iot list-thing-registration-tasks --status InProgress)' : ''),
      { cause: error },
    );
  }
}

const FINISHED = new Set(['Completed', 'Failed', 'Cancelled']);

/** Polls DescribeThingRegistrationTask until the task has finished, calling `progress` after each poll. */
export async function waitForTask(
  iot: IoTClient,
  taskId: string,
  options: { intervalMs: number; progress: (task: DescribeThingRegistrationTaskCommandOutput) => void; sleep?: (ms: number) => Promise<void> },
): Promise<DescribeThingRegistrationTaskCommandOutput> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (;;) {
    const task = await iot.send(new DescribeThingRegistrationTaskCommand({ taskId }));
    options.progress(task);
    if (FINISHED.has(task.status ?? '')) return task;
    await sleep(options.intervalMs);
  }
}

/** Every line of the task's RESULTS or ERRORS report files (their links are pre-signed URLs). */
export async function reportLines(
  iot: IoTClient,
  taskId: string,
  reportType: 'RESULTS' | 'ERRORS',
  download: (url: string) => Promise<string>,
): Promise<string[]> {
  const lines: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new ListThingRegistrationTaskReportsCommand({ taskId, reportType, nextToken, maxResults: 250 }));
    for (const link of page.resourceLinks ?? []) {
      lines.push(...(await download(link)).split('\n').filter((l) => l.trim() !== ''));
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return lines;
}

/** Downloads a pre-signed report link. */
export async function httpGet(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new ProvisionError(`report download failed (HTTP ${response.status})`);
  return response.text();
}

export async function registrationCode(iot: IoTClient): Promise<string> {
  return (await iot.send(new GetRegistrationCodeCommand({}))).registrationCode!;
}

/**
 * UpdateCertificate status for --revoke. REVOKED by default: AWS documents revoking a certificate
 * after suspicious activity "so that it can't be used again"
 * (https://docs.aws.amazon.com/iot/latest/developerguide/revoke-ca-cert.html) and its Device Defender
 * audits mark compromised or shared certificates REVOKED. INACTIVE is reversible (a sensor taken
 * down for maintenance, the old certificate after a rotation).
 */
export const REVOKE_STATUSES = ['REVOKED', 'INACTIVE'] as const;
export type RevokeStatus = (typeof REVOKE_STATUSES)[number];

/**
 * Deactivates every certificate of a sensor's thing, detaches its policies and detaches it from the
 * thing. The thing keeps its attributes and zone group, ready for a replacement certificate.
 * @returns one line per action taken.
 */
export async function revokeSensor(iot: IoTClient, thingName: string, status: RevokeStatus): Promise<string[]> {
  let principals: string[] = [];
  try {
    let nextToken: string | undefined;
    do {
      const page = await iot.send(new ListThingPrincipalsCommand({ thingName, nextToken }));
      principals.push(...(page.principals ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') throw new ProvisionError(`--revoke: thing ${thingName} not found in the registry`);
    throw error;
  }
  principals = principals.filter((p) => p.includes(':cert/'));
  if (principals.length === 0) return [`${thingName} has no certificate attached: nothing to revoke`];
  const done: string[] = [];
  for (const certificateArn of principals) {
    const certificateId = certificateArn.slice(certificateArn.lastIndexOf('/') + 1);
    // Status first: the device loses access within minutes whatever happens next.
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: status }));
    done.push(`certificate ${certificateId}: set ${status}`);
    const policies = (await iot.send(new ListAttachedPoliciesCommand({ target: certificateArn }))).policies ?? [];
    for (const policy of policies) {
      await iot.send(new DetachPolicyCommand({ policyName: policy.policyName!, target: certificateArn }));
      done.push(`certificate ${certificateId}: detached policy ${policy.policyName}`);
    }
    await iot.send(new DetachThingPrincipalCommand({ thingName, principal: certificateArn }));
    done.push(`certificate ${certificateId}: detached from thing ${thingName}`);
  }
  return done;
}

/** Where a rotated-in certificate comes from: AWS IoT signs the device's CSR, or the operator's registered CA did. */
export type NewCertificate = { csrPem: string } | { certificatePem: string; caCertificatePem: string };

/**
 * The documented rotation path for an existing sensor (a provisioning template never touches one:
 * EXISTING_THING): register the device's new certificate, active, and attach it to the thing next
 * to the old one, so the device can switch without a gap; then the operator deactivates the old one
 * (https://docs.aws.amazon.com/iot/latest/developerguide/x509-client-certs.html: devices should
 * "support rotation and replacement of certificates"). The thing must be a sensor of this
 * environment (its thing type): the sensor policy admits no other.
 * @returns the new certificate's ARN and the ARNs of the certificates attached before.
 */
export async function rotateCertificate(
  iot: IoTClient,
  thingName: string,
  thingTypeName: string,
  certificate: NewCertificate,
): Promise<{ certificateArn: string; certificatePem?: string; previous: string[] }> {
  let type: string | undefined;
  try {
    type = (await iot.send(new DescribeThingCommand({ thingName }))).thingTypeName;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new ProvisionError(`--rotate: thing ${thingName} not found in the registry: provision it (bulk or JITP) instead`);
    }
    throw error;
  }
  if (type !== thingTypeName) {
    throw new ProvisionError(`--rotate: thing ${thingName} is of type '${type ?? '(none)'}', not ${thingTypeName}: it is not a sensor of this environment`);
  }
  const previous: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await iot.send(new ListThingPrincipalsCommand({ thingName, nextToken }));
    previous.push(...(page.principals ?? []).filter((p) => p.includes(':cert/')));
    nextToken = page.nextToken;
  } while (nextToken);
  let certificateArn: string;
  let certificatePem: string | undefined;
  if ('csrPem' in certificate) {
    const made = await iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: certificate.csrPem, setAsActive: true }));
    certificateArn = made.certificateArn!;
    certificatePem = made.certificatePem;
  } else {
    const made = await iot.send(
      new RegisterCertificateCommand({ certificatePem: certificate.certificatePem, caCertificatePem: certificate.caCertificatePem, status: 'ACTIVE' }),
    );
    certificateArn = made.certificateArn!;
  }
  await iot.send(new AttachThingPrincipalCommand({ thingName, principal: certificateArn }));
  return { certificateArn, certificatePem, previous };
}
