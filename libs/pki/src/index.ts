import 'reflect-metadata';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** ECDSA P-256 with SHA-256: small keys, fast handshakes, what the chart generates too. */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

/** A positive serial number of 16 random bytes (the top bit clear and the first byte never zero). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x10;
  return bytes.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey), 'PRIVATE KEY');
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

/** A self-signed certificate authority for the registry's internal calls (nothing else should trust it). */
export async function createCertificateAuthority(commonName = 'ocireg internal CA', days = 3650): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${commonName}, O=ocireg`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/**
 * A certificate for one service, usable as TLS server and client: its subject
 * CN is the service identity the callee checks (e.g. "gateway"); the DNS and IP
 * names only help tools that verify host names.
 */
export async function issueServiceCertificate(
  ca: CertificateAuthority,
  identity: string,
  options: { dnsNames?: string[]; ipAddresses?: string[]; days?: number } = {},
): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.keyPem), ALGORITHM, false, ['sign']);
  const keys = await generateKeys();
  const now = Date.now();
  const names: x509.JsonGeneralName[] = [
    ...[identity, ...(options.dnsNames ?? [])].map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${identity}, O=ocireg`,
    issuer: caCert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (options.days ?? 365) * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey as unknown as CryptoKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/**
 * Writes <root>/<identity>/{ca.crt,tls.crt,tls.key} for each identity: the
 * layout of a cert-manager Secret, which is what services read from
 * INTERNAL_TLS_DIR. Directories 0700, files 0600. Returns the directory per identity.
 */
export async function writeServiceTlsDirs(root: string, ca: CertificateAuthority, identities: readonly string[]): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  for (const identity of identities) {
    const dir = path.join(root, identity);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const issued = await issueServiceCertificate(ca, identity, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    writeFileSync(path.join(dir, 'ca.crt'), ca.certPem, { mode: 0o600 });
    writeFileSync(path.join(dir, 'tls.crt'), issued.certPem, { mode: 0o600 });
    writeFileSync(path.join(dir, 'tls.key'), issued.keyPem, { mode: 0o600 });
    dirs[identity] = dir;
  }
  return dirs;
}

/**
 * The internal CA and service certificates under `root`, made once and reused:
 * <root>/ca/{ca.crt,ca.key} and <root>/<identity>/{ca.crt,tls.crt,tls.key}.
 * A certificate missing, from another CA, or expiring within 30 days is issued anew.
 */
export async function ensureServiceTls(root: string, identities: readonly string[]): Promise<Record<string, string>> {
  const caDir = path.join(root, 'ca');
  mkdirSync(caDir, { recursive: true, mode: 0o700 });
  let ca: CertificateAuthority;
  try {
    ca = { certPem: readFileSync(path.join(caDir, 'ca.crt'), 'utf8'), keyPem: readFileSync(path.join(caDir, 'ca.key'), 'utf8') };
  } catch {
    ca = await createCertificateAuthority();
    writeFileSync(path.join(caDir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(path.join(caDir, 'ca.crt'), ca.certPem, { mode: 0o600 });
  }
  const stale = identities.filter((identity) => {
    try {
      const dir = path.join(root, identity);
      const cert = new X509Certificate(readFileSync(path.join(dir, 'tls.crt')));
      readFileSync(path.join(dir, 'tls.key'));
      return readFileSync(path.join(dir, 'ca.crt'), 'utf8') !== ca.certPem || Date.parse(cert.validTo) < Date.now() + 30 * DAY_MS;
    } catch {
      return true;
    }
  });
  await writeServiceTlsDirs(root, ca, stale);
  return Object.fromEntries(identities.map((identity) => [identity, path.join(root, identity)]));
}
