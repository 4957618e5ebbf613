/**
 * Just-in-time provisioning, locally: what AWS IoT does with a certificate a registered CA signed
 * when a device first presents it, run against the simulation's registry with the stack's JITP
 * template (template/layers/provisioning.ts jitpTemplateBody). Documented behaviour it follows:
 *  - the certificate is registered PENDING_ACTIVATION, the template's parameters come from its
 *    subject (and AWS::IoT::Certificate::Id), a parameter the subject lacks fails the run
 *    (https://docs.aws.amazon.com/iot/latest/developerguide/jit-provisioning.html);
 *  - a resource that already exists is treated as its OverrideSettings say: FAIL makes "the request
 *    fail with a ResourceConflictsException", DO_NOTHING leaves it, REPLACE and MERGE change it
 *    (https://docs.aws.amazon.com/iot/latest/developerguide/provision-template.html#override-settings);
 *  - a certificate's OverrideSettings DO_NOTHING still activates the certificate the run registered
 *    (AWS's own JITP example sets it and lists "Update the certificate status to ACTIVE").
 * Assumed, not documented: a failed request changes nothing (the certificate stays
 * PENDING_ACTIVATION, attached to nothing). Anything else in a template is an error here, so a
 * template change the simulator cannot follow fails loudly.
 */
import { X509Certificate } from 'node:crypto';
import type { LocalRegistry } from './registry';

export class ResourceConflictsException extends Error {
  override name = 'ResourceConflictsException';
}
export class ProvisioningError extends Error {
  override name = 'ProvisioningError';
}

/** Subject fields JITP reads, by the parameter that carries them. */
const SUBJECT_PARAMETERS: Record<string, string> = {
  'AWS::IoT::Certificate::CommonName': 'CN',
  'AWS::IoT::Certificate::OrganizationalUnit': 'OU',
  'AWS::IoT::Certificate::DistinguishedNameQualifier': 'dnQualifier',
  'AWS::IoT::Certificate::Organization': 'O',
  'AWS::IoT::Certificate::Country': 'C',
  'AWS::IoT::Certificate::StateName': 'ST',
  'AWS::IoT::Certificate::SerialNumber': 'serialNumber',
};

/** The subject's fields by short name (Node prints the dnQualifier OID by name or number). */
function subjectFields(certificate: X509Certificate): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of certificate.subject.split('\n')) {
    const at = line.indexOf('=');
    // Node escapes special characters of a value (`\,`): the field's value is without them.
    if (at > 0) fields[line.slice(0, at) === '2.5.4.46' ? 'dnQualifier' : line.slice(0, at)] = line.slice(at + 1).replace(/\\(.)/g, '$1');
  }
  return fields;
}

type Template = {
  Parameters: Record<string, { Type: string; Default?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; OverrideSettings?: Record<string, string> }>;
};

/**
 * Provisions the device of `certificatePem` with `templateBody`, as AWS IoT would on its first
 * connect. Returns the thing it was attached to.
 * @throws ResourceConflictsException for a resource that exists under OverrideSettings FAIL.
 */
export function justInTimeProvision(registry: LocalRegistry, templateBody: string, certificatePem: string): { thing: string; certificateId: string } {
  const certificate = new X509Certificate(certificatePem);
  const certificateId = registry.registerCertificate(certificatePem, 'PENDING_ACTIVATION');
  const template = JSON.parse(templateBody) as Template;
  const subject = subjectFields(certificate);
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(template.Parameters)) {
    const value = name === 'AWS::IoT::Certificate::Id' ? certificateId : subject[SUBJECT_PARAMETERS[name] ?? ''] ?? spec.Default;
    if (value === undefined) throw new ProvisioningError(`the certificate has no value for ${name}`);
    values[name] = value;
  }
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o.Ref === 'string') return values[o.Ref];
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
    }
    return node;
  };

  const resources = Object.values(template.Resources);
  const unknown = resources.filter((r) => r.Type !== 'AWS::IoT::Thing' && r.Type !== 'AWS::IoT::Certificate');
  if (unknown.length) throw new ProvisioningError(`the simulator does not provision ${unknown.map((r) => r.Type).join(', ')}`);
  const thingSpec = resources.find((r) => r.Type === 'AWS::IoT::Thing')!;
  const props = resolve(thingSpec.Properties) as { ThingName: string; ThingTypeName?: string; AttributePayload?: Record<string, string>; ThingGroups?: string[] };
  const existing = registry.things.get(props.ThingName);
  if (existing) {
    for (const property of ['AttributePayload', 'ThingTypeName', 'ThingGroups'] as const) {
      if (props[property] === undefined) continue;
      const setting = thingSpec.OverrideSettings?.[property];
      if (setting === 'FAIL') throw new ResourceConflictsException(`thing ${props.ThingName} exists (OverrideSettings ${property}: FAIL)`);
      if (setting !== 'DO_NOTHING') throw new ProvisioningError(`the simulator does not emulate OverrideSettings ${property}: ${setting ?? '(none)'}`);
    }
  } else {
    for (const group of props.ThingGroups ?? []) {
      if (!registry.thingGroups.has(group)) throw new ProvisioningError(`thing group ${group} does not exist`);
    }
    if (props.ThingTypeName && !registry.thingTypes.has(props.ThingTypeName)) throw new ProvisioningError(`thing type ${props.ThingTypeName} does not exist`);
    registry.createThing(props.ThingName, { thingTypeName: props.ThingTypeName, attributes: props.AttributePayload, groups: props.ThingGroups });
  }
  const certificateSpec = resources.find((r) => r.Type === 'AWS::IoT::Certificate')!;
  const status = (certificateSpec.Properties.Status as string | undefined) ?? 'ACTIVE';
  if (registry.certificates.get(certificateId) === 'PENDING_ACTIVATION') registry.certificates.set(certificateId, status as 'ACTIVE');
  registry.attach(props.ThingName, certificateId);
  return { thing: props.ThingName, certificateId };
}
