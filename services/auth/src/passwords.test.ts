import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './passwords';

describe('PasswordHasher (argon2id)', () => {
  const hasher = new PasswordHasher();

  it('stores an argon2id PHC string that verifies the password and nothing else', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await hasher.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(stored, 'correct horse battery stapl')).toBe(false);
    expect(await hasher.verify(stored, '')).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    expect(await hasher.hash('the same password')).not.toBe(await hasher.hash('the same password'));
  });

  it('refuses short and huge passwords with a clear error', async () => {
    await expect(hasher.hash('short')).rejects.toThrow(/at least 12 characters/);
    await expect(hasher.hash('x'.repeat(257))).rejects.toThrow(/at most 256/);
  });

  it('answers false without a stored hash, after spending a hash computation', async () => {
    const started = performance.now();
    expect(await hasher.verify(undefined, 'anything at all here')).toBe(false);
    expect(performance.now() - started).toBeGreaterThan(5);
    expect(await hasher.verify('not a phc string', 'anything at all here')).toBe(false);
  });
});
