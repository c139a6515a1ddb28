import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { RegistryError } from '@ocireg/errors';
import { identityOfCertificate, type TlsFiles, type TlsMaterial } from './tls-material';

/**
 * Who a user is, as auth vouches for them to the other services: the gateway
 * gets one for the user's credential (API token or UI session) and forwards it
 * with admin calls; each service verifies it locally, with nothing but the
 * internal CA (the signature is auth's certificate key, the certificate rides
 * in the token's x5c header). Short-lived: revocations take effect at the gateway
 * at once and everywhere within the assertion's lifetime.
 */
export interface UserAssertion {
  userId: string;
  email: string;
  /** Operators (OPERATOR_EMAILS) may do every admin call. */
  operator: boolean;
  /** The scopes of the credential: read:package, write:package, admin:package, admin:token. */
  scopes: string[];
  /** The API token behind the assertion, or "" for a UI session. */
  tokenId: string;
  /** When that token (or session) expires, RFC 3339. */
  credentialExpiresAt: string;
  /** The UI session behind the assertion, or "" for an API token. */
  sessionId: string;
}

const ISSUER = 'ocireg-auth';
const AUDIENCE = 'ocireg-internal';

function algorithmOf(key: KeyObject): jwt.Algorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
  }
  throw new Error(`unsupported key type for signing user assertions: ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Auth's side: signs assertions with its own service key. */
export class UserAssertionSigner {
  /** The parsed key and certificate of the files last seen (they change only when renewed). */
  private parsed?: { files: TlsFiles; key: KeyObject; der: string };

  constructor(private readonly tls: TlsMaterial) {
    if (tls.identity !== 'auth') throw new Error(`only auth signs user assertions; this certificate is ${tls.identity}'s`);
  }

  sign(assertion: UserAssertion, seconds: number): string {
    const files = this.tls.current();
    if (this.parsed?.files !== files) this.parsed = { files, key: createPrivateKey(files.key), der: new X509Certificate(files.cert).raw.toString('base64') };
    const { key, der } = this.parsed;
    return jwt.sign(
      { sub: assertion.userId, email: assertion.email, op: assertion.operator, scp: assertion.scopes, tid: assertion.tokenId, cexp: assertion.credentialExpiresAt, sid: assertion.sessionId },
      key,
      { algorithm: algorithmOf(key), expiresIn: Math.max(1, Math.floor(seconds)), issuer: ISSUER, audience: AUDIENCE, header: { alg: algorithmOf(key), x5c: [der] } as jwt.JwtHeader },
    );
  }
}

function unauthorized(reason: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', `user assertion rejected: ${reason}`);
}

/** Every other service's side: checks an assertion against the internal CA alone. */
export class UserAssertionVerifier {
  /** Signing certificates already checked against the CA, by their DER (base64). */
  private readonly trusted = new Map<string, { cert: X509Certificate; ca: Buffer }>();

  constructor(private readonly tls: Pick<TlsMaterial, 'current'>) {}

  verify(token: string): UserAssertion {
    const decoded = jwt.decode(token, { complete: true });
    const chain = (decoded?.header as { x5c?: unknown } | undefined)?.x5c;
    if (!Array.isArray(chain) || typeof chain[0] !== 'string') throw unauthorized('no x5c certificate');
    const cert = this.signingCertificate(chain[0]);
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, cert.publicKey, { algorithms: ['ES256', 'ES384', 'RS256'], issuer: ISSUER, audience: AUDIENCE }) as jwt.JwtPayload;
    } catch (err) {
      throw unauthorized(err instanceof Error ? err.message : 'invalid signature');
    }
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || !claims.sub) throw unauthorized('missing claims');
    return {
      userId: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : '',
      operator: claims.op === true,
      scopes: Array.isArray(claims.scp) ? claims.scp.filter((s): s is string => typeof s === 'string') : [],
      tokenId: typeof claims.tid === 'string' ? claims.tid : '',
      credentialExpiresAt: typeof claims.cexp === 'string' ? claims.cexp : '',
      sessionId: typeof claims.sid === 'string' ? claims.sid : '',
    };
  }

  private signingCertificate(derBase64: string): X509Certificate {
    const ca = this.tls.current().ca;
    const known = this.trusted.get(derBase64);
    if (known && known.ca.equals(ca) && Date.parse(known.cert.validTo) > Date.now()) return known.cert;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(derBase64, 'base64'));
    } catch {
      throw unauthorized('x5c is not a certificate');
    }
    const caCert = new X509Certificate(ca);
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) throw unauthorized('not signed by a certificate of the internal CA');
    if (identityOfCertificate(cert) !== 'auth') throw unauthorized('not signed by the auth service');
    const now = Date.now();
    if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw unauthorized('the signing certificate is not valid now');
    if (this.trusted.size > 100) this.trusted.clear();
    this.trusted.set(derBase64, { cert, ca });
    return cert;
  }
}
