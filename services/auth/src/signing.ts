import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';

export interface SigningKeys {
  kid: string;
  sign(payload: object, expiresInSeconds: number): string;
  verify(token: string): jwt.JwtPayload;
  /** JWKS with the current key and the retired ones still accepted. */
  jwksJson(): string;
}

/** A key id derived from the public key, so every replica with the same key agrees on it. */
function kidOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

/** ES256 keys from PEM (or an ephemeral pair for development). Retired public keys stay in the JWKS for rotation. */
export function loadSigningKeys(privatePem: string | undefined, previousPublicPems: string | undefined): { keys: SigningKeys; ephemeral: boolean } {
  const privateKey = privatePem ? createPrivateKey(privatePem) : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const publicKey = createPublicKey(privateKey);
  const kid = kidOf(publicKey);
  const retired = (previousPublicPems ?? '')
    .split(/(?=-----BEGIN PUBLIC KEY-----)/)
    .map((pem) => pem.trim())
    .filter(Boolean)
    .map((pem) => createPublicKey(pem));
  const jwks = JSON.stringify({
    keys: [publicKey, ...retired].map((key) => ({ ...key.export({ format: 'jwk' }), kid: kidOf(key), use: 'sig', alg: 'ES256' })),
  });
  const privatePemText = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const publicPemText = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return {
    ephemeral: !privatePem,
    keys: {
      kid,
      sign: (payload, expiresInSeconds) => jwt.sign(payload, privatePemText, { algorithm: 'ES256', keyid: kid, expiresIn: expiresInSeconds, issuer: 'ocireg-auth' }),
      verify: (token) => jwt.verify(token, publicPemText, { algorithms: ['ES256'], issuer: 'ocireg-auth' }) as jwt.JwtPayload,
      jwksJson: () => jwks,
    },
  };
}
