/**
 * Device keys, CSRs and certificates, made on the operator's machine: node:crypto (WebCrypto) for
 * keys and signatures, @peculiar/x509 for the X.509 and PKCS #10 structures. No private key is
 * ever sent anywhere; the CA key is read into memory and used only to sign.
 *
 * Subject layout (what JITP reads, template/layers/provisioning.ts JITP_SUBJECT): CN = sensor id,
 * OU = zone id, dnQualifier = "lat,lon". A certificate made here therefore also works for JITP.
 */
// @peculiar/x509 needs a Reflect metadata polyfill, loaded before it (its README).
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

x509.cryptoProvider.set(webcrypto as never);

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/**
 * ECDSA P-256 with SHA-256 for device keys: AWS IoT accepts ECDSA-WITH-SHA256
 * (https://docs.aws.amazon.com/iot/latest/developerguide/x509-client-certs.html#x509-cert-algorithms),
 * a P-256 key is made in well under a millisecond where RSA 2048 takes tens, and constrained
 * sensors sign with it faster.
 */
export const DEVICE_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const DEVICE_SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** X.520 dnQualifier. @peculiar/x509 has no short name for it. */
export const DN_QUALIFIER_OID = '2.5.4.46';

/** Default validity of a locally signed device certificate: five years, then rotation (docs/provisioning.md). */
export const DEFAULT_VALIDITY_DAYS = 1_826;

export interface DeviceSubject {
  sensorId: string;
  zoneId: string;
  /** "lat,lon", the thing's `location` attribute. */
  location: string;
}

/** CN, OU and, for a sensor with a position, dnQualifier (a PrintableString, as X.520 defines it; digits, '.', ',' and '-' fit). */
export function deviceName(subject: DeviceSubject): x509.Name {
  return new x509.Name([
    { CN: [subject.sensorId] },
    { OU: [subject.zoneId] },
    ...(subject.location ? [{ [DN_QUALIFIER_OID]: [{ printableString: subject.location }] }] : []),
  ]);
}

const pem = (label: string, der: ArrayBuffer) => x509.PemConverter.encode(der, label);

export interface DeviceCredentials {
  /** PKCS #8 PEM: goes only to the operator's git-ignored output folder, mode 0600. */
  privateKeyPem: string;
  csr: x509.Pkcs10CertificateRequest;
  csrPem: string;
}

/** A new device key pair and a CSR for it, signed by that key (proof of possession). */
export async function createDeviceCredentials(subject: DeviceSubject): Promise<DeviceCredentials> {
  const keys = (await webcrypto.subtle.generateKey(DEVICE_KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: deviceName(subject),
    keys,
    signingAlgorithm: DEVICE_SIGNING,
  });
  const privateKeyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { privateKeyPem, csr, csrPem: csr.toString('pem') };
}

/** The subject CN of a certificate or CSR name. */
export const commonName = (name: string): string | undefined => new x509.Name(name).getField('CN')[0];

/**
 * Parses a CSR and checks its signature (the requester holds the key).
 * @throws CertificateError naming the file when it is not a valid PEM CSR.
 */
export async function readCsr(text: string, where: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(text);
  } catch (error) {
    throw new CertificateError(`${where}: not a PEM certificate signing request (${(error as Error).message})`);
  }
  if (!(await csr.verify())) throw new CertificateError(`${where}: the CSR signature does not verify (not signed by its own key)`);
  return csr;
}

export interface SigningCa {
  certificate: x509.X509Certificate;
  certificatePem: string;
  key: CryptoKey;
  signingAlgorithm: SigningAlgorithm;
  /** Computed once: the same in every certificate the CA signs. */
  authorityKeyIdentifier: x509.AuthorityKeyIdentifierExtension;
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const CURVE_HASH: Record<string, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' };

/**
 * Loads the CA that signs device certificates. Accepts PKCS #8, PKCS #1 (RSA) and SEC 1 (EC) keys.
 * @throws CertificateError when the certificate is not a CA, has expired, or the key is not its key.
 */
export async function loadCa(certificatePem: string, keyPem: string, now: Date): Promise<SigningCa> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certificatePem);
  } catch (error) {
    throw new CertificateError(`--ca-cert: not a PEM certificate (${(error as Error).message})`);
  }
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new CertificateError('--ca-cert: the certificate is not a CA (basicConstraints CA:TRUE is missing)');
  if (certificate.notAfter < now) throw new CertificateError(`--ca-cert: the CA expired on ${certificate.notAfter.toISOString()}`);

  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (error) {
    throw new CertificateError(`--ca-key: not a readable private key (${(error as Error).message}); encrypted keys: decrypt with openssl first`);
  }
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(certificate.publicKey.rawData).equals(spki)) {
    throw new CertificateError('--ca-key: this key does not belong to --ca-cert (public keys differ)');
  }
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  let importAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  let signingAlgorithm: SigningAlgorithm;
  if (keyObject.asymmetricKeyType === 'rsa') {
    importAlgorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    signingAlgorithm = { name: 'RSASSA-PKCS1-v1_5' };
  } else if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new CertificateError(`--ca-key: EC curve ${keyObject.asymmetricKeyDetails?.namedCurve} is not one of P-256, P-384, P-521`);
    importAlgorithm = { name: 'ECDSA', namedCurve: curve };
    signingAlgorithm = { name: 'ECDSA', hash: CURVE_HASH[curve]! } as webcrypto.EcdsaParams;
  } else {
    throw new CertificateError(`--ca-key: ${keyObject.asymmetricKeyType} keys are not supported; use RSA or EC (P-256, P-384, P-521)`);
  }
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, importAlgorithm, false, ['sign']);
  return {
    certificate,
    certificatePem: certificate.toString('pem'),
    key: key as CryptoKey,
    signingAlgorithm,
    authorityKeyIdentifier: await x509.AuthorityKeyIdentifierExtension.create(certificate),
  };
}

/** A positive 128-bit serial number (RFC 5280 allows up to 20 octets; random makes them unique). */
const serialNumber = () => {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString('hex');
};

/**
 * Issues an end-entity TLS certificate signed by the CA (the one place certificates are issued:
 * device certificates here, the local broker's in scripts/simulate/pki.ts): not a CA, digital
 * signature only, for client or server authentication, with its key identifiers and any further
 * extensions (a server's names).
 */
export async function issueCertificate(
  ca: SigningCa,
  spec: {
    subject: string | x509.Name;
    publicKey: x509.PublicKey | CryptoKey;
    notBefore: Date;
    notAfter: Date;
    usage: 'clientAuth' | 'serverAuth';
    serialNumber?: string;
    extensions?: x509.Extension[];
  },
): Promise<x509.X509Certificate> {
  // A device certificate carries its key's identifier and the CA's (RFC 5280, 4.2.1.1 and 4.2.1.2); the local broker's never did.
  const keyIdentifiers =
    spec.usage === 'clientAuth'
      ? [
          await x509.SubjectKeyIdentifierExtension.create(
            spec.publicKey instanceof x509.PublicKey ? spec.publicKey : new x509.PublicKey(await webcrypto.subtle.exportKey('spki', spec.publicKey)),
          ),
          ca.authorityKeyIdentifier,
        ]
      : [];
  return x509.X509CertificateGenerator.create({
    serialNumber: spec.serialNumber ?? serialNumber(),
    subject: spec.subject as never,
    issuer: ca.certificate.subjectName,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: spec.publicKey as never,
    signingKey: ca.key,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[spec.usage]]),
      ...keyIdentifiers,
      ...(spec.extensions ?? []),
    ],
  });
}

/**
 * Signs a CSR with the CA: an end-entity TLS client certificate with the CSR's subject and key.
 * Its validity never outlasts the CA's.
 */
export async function signCsr(
  csr: x509.Pkcs10CertificateRequest,
  ca: SigningCa,
  options: { now: Date; validityDays: number },
): Promise<x509.X509Certificate> {
  const notAfter = new Date(Math.min(options.now.getTime() + options.validityDays * 86_400_000, ca.certificate.notAfter.getTime()));
  return issueCertificate(ca, { subject: csr.subjectName, publicKey: csr.publicKey, notBefore: options.now, notAfter, usage: 'clientAuth' });
}

/**
 * The certificate that proves to AWS IoT that you hold the CA key: CN = the account's registration
 * code (GetRegistrationCode), signed by the CA. Its key is thrown away.
 * https://docs.aws.amazon.com/iot/latest/developerguide/register-CA-cert.html
 */
export async function verificationCertificate(ca: SigningCa, registrationCode: string, now: Date): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(DEVICE_KEY_ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: new x509.Name([{ CN: [registrationCode] }]),
    keys,
    signingAlgorithm: DEVICE_SIGNING,
  });
  return (await signCsr(csr, ca, { now, validityDays: 30 })).toString('pem');
}
