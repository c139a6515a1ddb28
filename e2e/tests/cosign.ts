import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, tempDir } from './helpers';

/**
 * The real cosign (scripts/tools/go-tools.sh builds it) with a key pair of
 * its own, reaching nothing but the registry: signatures are not uploaded to
 * a transparency log, verification ignores the log, and an empty trusted
 * root keeps it from fetching Sigstore's from its TUF repository. It logs in
 * as docker does (DOCKER_CONFIG); 127.0.0.1 registries are spoken to over
 * plain HTTP.
 */
export class Cosign {
  private constructor(
    private readonly dir: string,
    private readonly env: Record<string, string>,
  ) {}

  /** A key pair (cosign generate-key-pair, the private key encrypted with COSIGN_PASSWORD). */
  static async withNewKeys(): Promise<Cosign> {
    const dir = tempDir('cosign');
    // HOME and TUF_ROOT in the test's directory: nothing is cached in the user's ~/.sigstore.
    const env = { COSIGN_PASSWORD: 'cosign-test-password', HOME: dir, TUF_ROOT: path.join(dir, 'tuf') };
    writeFileSync(path.join(dir, 'trusted-root.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1' }));
    const cosign = new Cosign(dir, env);
    await cosign.run(['generate-key-pair']);
    return cosign;
  }

  /** Stores a signature of `image` under its sha256-<hex>.sig tag. */
  sign(image: string): Promise<string> {
    return this.run(['sign', '--yes', '--key', 'cosign.key', '--tlog-upload=false', '--allow-http-registry', image]);
  }

  /** Checks the signatures of `image` against this key (fails when none verifies). */
  verify(image: string, publicKey = path.join(this.dir, 'cosign.pub')): Promise<string> {
    return this.run(['verify', '--key', publicKey, ...this.offlineVerification(), image]);
  }

  /** Stores an in-toto attestation (DSSE) of `image` under its sha256-<hex>.att tag. */
  attest(image: string, predicate: object, type: string): Promise<string> {
    const file = path.join(this.dir, `predicate-${type}.json`);
    writeFileSync(file, JSON.stringify(predicate));
    return this.run(['attest', '--yes', '--key', 'cosign.key', '--tlog-upload=false', '--allow-http-registry', '--predicate', file, '--type', type, image]);
  }

  /** Checks the attestations of `type` about `image` against this key; prints their envelopes. */
  verifyAttestation(image: string, type: string): Promise<string> {
    return this.run(['verify-attestation', '--key', 'cosign.pub', '--type', type, ...this.offlineVerification(), image]);
  }

  private offlineVerification(): string[] {
    return ['--insecure-ignore-tlog', '--trusted-root', 'trusted-root.json', '--allow-http-registry'];
  }

  private run(args: string[]): Promise<string> {
    return run('cosign', args, { env: this.env, cwd: this.dir, withStderr: true });
  }
}
