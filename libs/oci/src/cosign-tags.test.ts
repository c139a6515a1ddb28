import { describe, expect, it } from 'vitest';
import { cosignTagsOf, parseCosignTag } from './cosign-tags';

const sha256 = `sha256:${'ab'.repeat(32)}`;
const sha512 = `sha512:${'cd'.repeat(64)}`;

describe("cosign's tag scheme", () => {
  it('reads the subject and kind of sha256-<hex>.sig, .att and .sbom (and sha512)', () => {
    expect(parseCosignTag(`sha256-${'ab'.repeat(32)}.sig`)).toEqual({ subject: sha256, kind: 'signature' });
    expect(parseCosignTag(`sha256-${'ab'.repeat(32)}.att`)).toEqual({ subject: sha256, kind: 'attestation' });
    expect(parseCosignTag(`sha256-${'ab'.repeat(32)}.sbom`)).toEqual({ subject: sha256, kind: 'attestation' });
    expect(parseCosignTag(`sha512-${'cd'.repeat(64)}.sig`)).toEqual({ subject: sha512, kind: 'signature' });
  });

  it('leaves every other tag alone', () => {
    for (const tag of ['v1', 'latest', `sha256-${'ab'.repeat(32)}`, `sha256-${'ab'.repeat(32)}.sig.bak`, `sha256-${'AB'.repeat(32)}.sig`, `sha256-${'ab'.repeat(31)}.sig`, `sha384-${'ab'.repeat(48)}.sig`, 'sha256-sig', `x-sha256-${'ab'.repeat(32)}.sig`]) {
      expect(parseCosignTag(tag), tag).toBeUndefined();
    }
  });

  it('names the tags of a digest, which read back to it', () => {
    expect(cosignTagsOf(sha256)).toEqual([`sha256-${'ab'.repeat(32)}.sig`, `sha256-${'ab'.repeat(32)}.att`, `sha256-${'ab'.repeat(32)}.sbom`]);
    expect(cosignTagsOf(sha512).map((tag) => parseCosignTag(tag)?.subject)).toEqual([sha512, sha512, sha512]);
  });
});
