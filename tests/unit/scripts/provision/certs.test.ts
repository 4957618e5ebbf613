import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as x509 from '@peculiar/x509';
import {
  commonName,
  createDeviceCredentials,
  DN_QUALIFIER_OID,
  loadCa,
  readCsr,
  signCsr,
  verificationCertificate,
  type SigningCa,
} from '../../../../scripts/provision/certs';
import { makeCa, type TestCa } from '../../../helpers/pki';

const now = new Date();
const subject = { sensorId: 'sensor-00042', zoneId: 'downtown', location: '52.3702,-4.8952' };
const dir = mkdtempSync(join(tmpdir(), 'provision-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `openssl verify`: an implementation other than the one that signed. */
function opensslVerify(caPem: string, certPem: string): string {
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'cert.pem'), certPem);
  const run = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'cert.pem')], { encoding: 'utf8' });
  return (run.stdout + run.stderr).trim();
}

describe('createDeviceCredentials', () => {
  it('makes a P-256 key and a CSR that it signed, with CN = sensor id, OU = zone, dnQualifier = "lat,lon"', async () => {
    const made = await createDeviceCredentials(subject);
    const key = createPrivateKey(made.privateKeyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(made.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const csr = await readCsr(made.csrPem, 'sensor.csr');
    expect(commonName(csr.subject)).toBe('sensor-00042');
    expect(csr.subjectName.getField('OU')).toEqual(['downtown']);
    expect(csr.subjectName.getField(DN_QUALIFIER_OID)).toEqual(['52.3702,-4.8952']);
    expect(Buffer.from(csr.publicKey.rawData).equals(createPublicKey(key).export({ type: 'spki', format: 'der' }))).toBe(true);
  });
});

describe('readCsr', () => {
  it('names the file when it is not a CSR or its signature does not verify', async () => {
    await expect(readCsr('hello', 'csrs/s-1.csr')).rejects.toThrow(/^csrs\/s-1\.csr: not a PEM certificate signing request/);
    const a = await createDeviceCredentials(subject);
    const b = await createDeviceCredentials({ ...subject, sensorId: 'other' });
    // a's subject and signature over b's public key: a forged request.
    const forged = new x509.Pkcs10CertificateRequest(a.csr.rawData);
    const raw = Buffer.from(forged.rawData);
    const [pa, pb] = [Buffer.from(a.csr.publicKey.rawData), Buffer.from(b.csr.publicKey.rawData)];
    raw.set(pb, raw.indexOf(pa));
    await expect(readCsr(x509.PemConverter.encode(raw, 'CERTIFICATE REQUEST'), 'f.csr')).rejects.toThrow('f.csr: the CSR signature does not verify (not signed by its own key)');
  });
});

describe.each([
  ['EC P-256 CA, PKCS #8 key', { kind: 'ec', keyFormat: 'pkcs8' }],
  ['RSA 2048 CA, PKCS #1 key', { kind: 'rsa', keyFormat: 'native' }],
  ['EC CA, SEC 1 key', { kind: 'ec', keyFormat: 'native' }],
] as const)('local signing with an %s', (_name, options) => {
  let ca: TestCa;
  let signing: SigningCa;
  beforeAll(async () => {
    ca = await makeCa(options);
    signing = await loadCa(ca.certificatePem, ca.keyPem, now);
  });

  it('issues a client certificate that chains to the CA and carries CN = sensor id', async () => {
    const made = await createDeviceCredentials(subject);
    const cert = await signCsr(made.csr, signing, { now, validityDays: 365 });
    expect(await cert.verify({ publicKey: new x509.X509Certificate(ca.certificatePem).publicKey, signatureOnly: true })).toBe(true);
    expect(opensslVerify(ca.certificatePem, cert.toString('pem'))).toBe(`${join(dir, 'cert.pem')}: OK`);
    expect(commonName(cert.subject)).toBe('sensor-00042');
    expect(cert.subjectName.getField('OU')).toEqual(['downtown']);
    expect(cert.issuer).toBe(new x509.X509Certificate(ca.certificatePem).subject);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(Buffer.from(cert.publicKey.rawData).equals(Buffer.from(made.csr.publicKey.rawData))).toBe(true);
  });

  it('never outlives the CA', async () => {
    const made = await createDeviceCredentials(subject);
    const cert = await signCsr(made.csr, signing, { now, validityDays: 100 * 365 });
    expect(cert.notAfter.getTime()).toBe(signing.certificate.notAfter.getTime());
  });
});

describe('loadCa', () => {
  it('rejects a certificate that is not a CA, an expired CA, a key of another CA and an unreadable key', async () => {
    const leaf = await makeCa({ isCa: false });
    await expect(loadCa(leaf.certificatePem, leaf.keyPem, now)).rejects.toThrow('--ca-cert: the certificate is not a CA (basicConstraints CA:TRUE is missing)');
    const old = await makeCa({ notAfter: new Date(now.getTime() - 1000) });
    await expect(loadCa(old.certificatePem, old.keyPem, now)).rejects.toThrow(/^--ca-cert: the CA expired on /);
    const [a, b] = [await makeCa(), await makeCa()];
    await expect(loadCa(a.certificatePem, b.keyPem, now)).rejects.toThrow('--ca-key: this key does not belong to --ca-cert (public keys differ)');
    await expect(loadCa(a.certificatePem, 'nope', now)).rejects.toThrow(/^--ca-key: not a readable private key/);
    await expect(loadCa('nope', a.keyPem, now)).rejects.toThrow(/^--ca-cert: not a PEM certificate/);
  });
});

describe('verificationCertificate', () => {
  it('is signed by the CA with CN = the registration code', async () => {
    const ca = await makeCa();
    const pem = await verificationCertificate(await loadCa(ca.certificatePem, ca.keyPem, now), 'f8f2c0b1e2d3a4c5b6a7', now);
    expect(commonName(new x509.X509Certificate(pem).subject)).toBe('f8f2c0b1e2d3a4c5b6a7');
    expect(opensslVerify(ca.certificatePem, pem)).toMatch(/: OK$/);
  });
});

describe('issueCertificate (certificates issued in one place: devices, and the local broker of npm start)', () => {
  it("signs the simulator broker's server certificate: serverAuth for localhost / 127.0.0.1, chaining to the local CA, accepted by a TLS client", async () => {
    const { createLocalPki } = await import('../../../../scripts/simulate/pki');
    const pki = await createLocalPki(now);
    const server = new x509.X509Certificate(pki.server.certificatePem);
    expect(server.subject).toBe('CN=localhost');
    expect(server.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    expect(server.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(server.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()).toEqual([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    expect(opensslVerify(pki.caPem, pki.server.certificatePem)).toContain('OK');

    const tls = await import('node:tls');
    const listener = tls.createServer({ key: pki.server.keyPem, cert: pki.server.certificatePem }, (socket) => socket.end('hello'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const port = (listener.address() as { port: number }).port;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caPem }, () => undefined);
        let data = '';
        socket.on('data', (chunk) => (data += chunk));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(answer).toBe('hello');
    } finally {
      listener.close();
    }
  });
});
