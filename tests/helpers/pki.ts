/** A throwaway CA for tests, made in memory (never a real city's CA). */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

export interface TestCa {
  certificatePem: string;
  keyPem: string;
}

const ALGORITHMS = {
  ec: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  rsa: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
} as const;

export async function makeCa(
  options: { kind?: 'ec' | 'rsa'; name?: string; isCa?: boolean; notAfter?: Date; keyFormat?: 'pkcs8' | 'native' } = {},
): Promise<TestCa> {
  const algorithm = ALGORITHMS[options.kind ?? 'ec'];
  const keys = (await webcrypto.subtle.generateKey(algorithm as never, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: options.name ?? 'CN=TapStack Test Device CA, O=Test City',
    keys: keys as never,
    signingAlgorithm: algorithm as never,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 3 * 365 * 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(options.isCa ?? true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  let keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  if (options.keyFormat === 'native') {
    const { createPrivateKey } = await import('node:crypto');
    const key = createPrivateKey(keyPem);
    keyPem = key.export({ type: options.kind === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }) as string;
  }
  return { certificatePem: certificate.toString('pem'), keyPem };
}
