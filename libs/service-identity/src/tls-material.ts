import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isServiceName, type ServiceName } from './service-names';

/** How often the files are checked for a renewal (cert-manager rotates them in place). */
const REFRESH_MS = 60_000;

export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The service identity a certificate names: its subject CN, when that is one of our services. */
export function identityOfCertificate(cert: X509Certificate): ServiceName | undefined {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  return isServiceName(cn) ? cn : undefined;
}

/**
 * A service's mutual-TLS material: <dir>/ca.crt (the internal CA),
 * <dir>/tls.crt and <dir>/tls.key (its own certificate), the layout of a
 * cert-manager or Helm-made Secret. Checked when loaded (the certificate is the
 * CA's, names a service, matches the key); re-read when the files change.
 */
export class TlsMaterial {
  readonly identity: ServiceName;
  readonly paths: { ca: string; cert: string; key: string };
  private files: TlsFiles;
  private checkedAt = Date.now();
  private mtimes: string;

  constructor(
    readonly dir: string,
    /** Names the setting in error messages, e.g. "INTERNAL_TLS_DIR". */
    private readonly variable = 'INTERNAL_TLS_DIR',
  ) {
    this.paths = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'tls.crt'), key: path.join(dir, 'tls.key') };
    this.mtimes = this.readMtimes();
    this.files = this.read();
    this.identity = this.check(this.files);
  }

  /** The current files (re-read at most once a minute, when they changed). */
  current(): TlsFiles {
    if (Date.now() - this.checkedAt < REFRESH_MS) return this.files;
    this.checkedAt = Date.now();
    const mtimes = this.readMtimes();
    if (mtimes === this.mtimes) return this.files;
    try {
      const files = this.read();
      if (this.check(files) === this.identity) {
        this.files = files;
        this.mtimes = mtimes;
      }
    } catch {
      // A half-written renewal: keep the previous files and look again next time.
    }
    return this.files;
  }

  private readMtimes(): string {
    try {
      return Object.values(this.paths).map((file) => statSync(file).mtimeMs).join(',');
    } catch {
      return '';
    }
  }

  private read(): TlsFiles {
    const read = (file: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new Error(`${this.variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); it must hold ca.crt, tls.crt and tls.key`);
      }
    };
    return { ca: read(this.paths.ca), cert: read(this.paths.cert), key: read(this.paths.key) };
  }

  private check(files: TlsFiles): ServiceName {
    const parse = (pem: Buffer, file: string) => {
      try {
        return new X509Certificate(pem);
      } catch {
        throw new Error(`${this.variable}: ${file} is not a PEM certificate`);
      }
    };
    const ca = parse(files.ca, this.paths.ca);
    const cert = parse(files.cert, this.paths.cert);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error(`${this.variable}: ${this.paths.cert} was not issued by ${this.paths.ca}`);
    let key;
    try {
      key = createPrivateKey(files.key);
    } catch {
      throw new Error(`${this.variable}: ${this.paths.key} is not a PEM private key`);
    }
    if (!cert.checkPrivateKey(key)) throw new Error(`${this.variable}: ${this.paths.key} does not belong to ${this.paths.cert}`);
    const identity = identityOfCertificate(cert);
    if (!identity) throw new Error(`${this.variable}: ${this.paths.cert} must name a service in its subject CN (gateway, auth, metadata, blob-upload or indexer), not "${cert.subject.replace(/\n/g, ', ')}"`);
    if (Date.parse(cert.validTo) < Date.now()) throw new Error(`${this.variable}: ${this.paths.cert} expired on ${cert.validTo}`);
    return identity;
  }
}

/** Loads a service's own material from INTERNAL_TLS_DIR and checks that the certificate is its own. */
export function loadServiceTls(dir: string, expected: ServiceName): TlsMaterial {
  const tls = new TlsMaterial(dir);
  if (tls.identity !== expected) throw new Error(`INTERNAL_TLS_DIR: ${tls.paths.cert} is the ${tls.identity} service's certificate, not ${expected}'s`);
  return tls;
}
