/**
 * The local PKI of a simulation: a throwaway CA made in memory, the broker's server certificate
 * (localhost) and one client certificate per sensor, made the way `npm run provision` makes them
 * (scripts/provision/certs.ts: a P-256 key, a CSR, signed by the CA; CN = sensor id = thing name).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createDeviceCredentials, issueCertificate, loadCa, signCsr, type SigningCa } from '../provision/certs';

x509.cryptoProvider.set(webcrypto as never);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface KeyAndCertificate {
  keyPem: string;
  certificatePem: string;
}

export interface SensorIdentity extends KeyAndCertificate {
  sensorId: string;
  zoneId: string;
}

export interface LocalPki {
  ca: SigningCa;
  caPem: string;
  server: KeyAndCertificate;
}

const pkcs8Pem = async (key: webcrypto.CryptoKey) => x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

/** A CA valid for a day and the broker's certificate for localhost / 127.0.0.1. */
export async function createLocalPki(now = new Date()): Promise<LocalPki> {
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=TapStack Simulator Device CA, O=Local simulation',
    keys: caKeys as never,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const ca = await loadCa(caCert.toString('pem'), await pkcs8Pem(caKeys.privateKey), now);

  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serverCert = await issueCertificate(ca, {
    serialNumber: '01',
    subject: 'CN=localhost',
    publicKey: serverKeys.publicKey,
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + DAY_MS),
    usage: 'serverAuth',
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  return { ca, caPem: ca.certificatePem, server: { keyPem: await pkcs8Pem(serverKeys.privateKey), certificatePem: serverCert.toString('pem') } };
}

/** A sensor's key and certificate: CN = sensor id (its thing name), OU = zone, as provisioning makes them. */
export async function sensorIdentity(pki: LocalPki, sensorId: string, zoneId: string, location: string, now = new Date()): Promise<SensorIdentity> {
  const credentials = await createDeviceCredentials({ sensorId, zoneId, location });
  const certificate = await signCsr(credentials.csr, pki.ca, { now: new Date(now.getTime() - 60_000), validityDays: 1 });
  return { sensorId, zoneId, keyPem: credentials.privateKeyPem, certificatePem: certificate.toString('pem') };
}
