/**
 * The AWS IoT registry of a simulation, in memory: things (type, attributes, groups, attached
 * certificates), certificates (by SHA-256 fingerprint, with their status) and the thing groups the
 * sensor policy is attached to (what `npm run deploy` does). The broker asks it what IoT Core would
 * know about a connection; a just-in-time provisioning run (jitp.ts) writes to it.
 */
import { X509Certificate } from 'node:crypto';
import type { ConnectionContext } from './iot-rules';

/** Certificate statuses of AWS IoT (https://docs.aws.amazon.com/iot/latest/apireference/API_CertificateDescription.html). */
export type CertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED' | 'PENDING_ACTIVATION';

export interface LocalThing {
  thingTypeName?: string;
  attributes: Record<string, string>;
  groups: Set<string>;
  /** Fingerprints of the certificates attached to the thing. */
  certificates: Set<string>;
}

/** A thing type's propagating attributes: user property key → thing attribute. */
export type PropagatingAttributes = Record<string, string>;

/** The SHA-256 fingerprint of a PEM certificate, as a TLS socket reports its peer's (`AB:CD:…`). */
export const fingerprintOf = (certificatePem: string): string => new X509Certificate(certificatePem).fingerprint256;

export class LocalRegistry {
  readonly things = new Map<string, LocalThing>();
  readonly certificates = new Map<string, CertificateStatus>();
  /** Thing groups the sensor policy is attached to. */
  readonly policyGroups = new Set<string>();
  /** Thing type name → its propagating attributes. */
  readonly thingTypes = new Map<string, PropagatingAttributes>();
  /** The thing groups that exist. */
  readonly thingGroups = new Set<string>();

  createThing(name: string, thing: { thingTypeName?: string; attributes?: Record<string, string>; groups?: string[] }): void {
    if (this.things.has(name)) throw new Error(`thing ${name} already exists`);
    for (const group of thing.groups ?? []) this.thingGroups.add(group);
    this.things.set(name, { thingTypeName: thing.thingTypeName, attributes: { ...thing.attributes }, groups: new Set(thing.groups), certificates: new Set() });
  }

  registerCertificate(certificatePem: string, status: CertificateStatus): string {
    const id = fingerprintOf(certificatePem);
    this.certificates.set(id, status);
    return id;
  }

  attach(thingName: string, certificateId: string): void {
    const thing = this.things.get(thingName);
    if (!thing) throw new Error(`thing ${thingName} not found`);
    thing.certificates.add(certificateId);
  }

  /**
   * What IoT Core knows when a device connects with this certificate and client id, or why it
   * refuses before any policy is read: an unknown or inactive certificate fails authentication, and a
   * thing that belongs to no group the policy is attached to gets no policy at all.
   */
  connection(certificateId: string, clientId: string): ConnectionContext | string {
    const status = this.certificates.get(certificateId);
    if (status !== 'ACTIVE') return `certificate ${status ? status.toLowerCase().replace('_', ' ') : 'not registered'}`;
    const thing = this.things.get(clientId);
    const inPolicyGroup = thing !== undefined && [...thing.groups].some((g) => this.policyGroups.has(g));
    if (!inPolicyGroup) return `no policy applies to client id "${clientId}" (no thing of that name in the sensor group)`;
    return { thing: clientId, isAttached: thing.certificates.has(certificateId), thingTypeName: thing.thingTypeName, attributes: thing.attributes };
  }

  /** The user properties IoT Core adds to a thing's messages: its type's propagating attributes, from its attributes. */
  propagatedProperties(thingName: string): Record<string, string[]> {
    const thing = this.things.get(thingName);
    const propagating = thing?.thingTypeName ? this.thingTypes.get(thing.thingTypeName) : undefined;
    const out: Record<string, string[]> = {};
    for (const [key, attribute] of Object.entries(propagating ?? {})) {
      const value = thing!.attributes[attribute];
      if (value !== undefined) out[key] = [value];
    }
    return out;
  }
}
