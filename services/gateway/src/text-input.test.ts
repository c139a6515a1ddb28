import { describe, expect, it } from 'vitest';
import { basicCredentials } from './basic-credentials';
import { checkParams, checkText, checkTextFields, DEFAULT_MAX_LENGTH, limitOf } from './text-input';

function refusalOf(check: () => void): { code: string; field: unknown; message: string } | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    const { code, detail, message } = err as { code: string; detail?: { field?: unknown }; message: string };
    return { code, field: detail?.field, message };
  }
}

describe('text input', () => {
  it('takes ordinary text: unicode, emoji (surrogate pairs), ../, a literal %00, the empty string', () => {
    for (const value of ['', 'alice@example.com', 'Grüße, 日本 😀', '../../etc/passwd', '%00', 'x'.repeat(DEFAULT_MAX_LENGTH)]) {
      expect(refusalOf(() => checkText(value, 'name')), JSON.stringify(value.slice(0, 20))).toBeUndefined();
    }
  });

  it.each([
    ['a NUL', 'a\u0000b', /control characters \(U\+0000 at position 1\)/],
    ['a bell', '\u0007', /U\+0007/],
    ['a newline', 'a\nb', /U\+000A/],
    ['DEL', '\u007f', /U\+007F/],
    ['a lone high surrogate', 'a\ud800', /lone surrogate at position 1/],
    ['a lone low surrogate', '\udfffa', /lone surrogate at position 0/],
    ['reversed surrogates', '\ude00\ud83d', /lone surrogate at position 0/],
    ['1 MB', 'x'.repeat(1 << 20), /at most 1024 characters \(got 1048576\)/],
  ])('refuses %s with INVALID_ARGUMENT naming the field, without echoing it', (_, value, message) => {
    const refusal = refusalOf(() => checkText(value, 'name'));
    expect(refusal).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'name', message: expect.stringMatching(message) });
    expect(refusal!.message.length).toBeLessThan(200);
  });

  it('bounds each field: page tokens longer, emails and passwords shorter, whatever the spelling', () => {
    expect(limitOf('page_token')).toBe(limitOf('pageToken'));
    expect(limitOf('pageToken')).toBeGreaterThan(DEFAULT_MAX_LENGTH);
    expect(limitOf('settings.email')).toBe(320);
    expect(limitOf('password')).toBe(256);
    expect(limitOf('scopes[3]')).toBe(DEFAULT_MAX_LENGTH);
    expect(refusalOf(() => checkText('x'.repeat(2000), 'page_token'))).toBeUndefined();
    expect(refusalOf(() => checkText(`${'x'.repeat(310)}@example.com`, 'email'))).toMatchObject({ field: 'email' });
  });

  it('walks bodies, queries and decoded messages, naming nested fields by their path', () => {
    expect(refusalOf(() => checkTextFields({ name: 'ok', scopes: ['read:package', 'write\u0000'] }))).toMatchObject({ field: 'scopes[1]' });
    expect(refusalOf(() => checkTextFields({ settings: { plan: 'free', organization: '\ud800' } }))).toMatchObject({ field: 'settings.organization' });
    expect(refusalOf(() => checkTextFields({ size: 5, on: true, none: null, missing: undefined, bytes: Buffer.from([0]), content: new Uint8Array([0, 0xff]) }))).toBeUndefined();
    expect(refusalOf(() => checkTextFields(undefined))).toBeUndefined();
    expect(refusalOf(() => checkTextFields(['\u0000']))).toMatchObject({ field: '[0]' });
  });

  it('refuses deep nesting rather than recursing without end', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 30_000; i++) deep = [deep];
    expect(refusalOf(() => checkTextFields({ deep }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/nest/) });
  });

  it('names a field as callers spelled it, bounded and printable', () => {
    const refusal = refusalOf(() => checkTextFields({ [`k\u0000${'y'.repeat(500)}`]: '\u0000' }));
    expect(refusal!.field).toMatch(/^k\ufffdy+…$/);
    expect(String(refusal!.field).length).toBeLessThanOrEqual(100);
  });

  it('checks each value of a query string or form, repeated keys too', () => {
    expect(refusalOf(() => checkParams(new URLSearchParams('n=10&last=a%00b')))).toMatchObject({ field: 'last' });
    expect(refusalOf(() => checkParams(new URLSearchParams('scope=repository:a/b:pull&scope=x%01')))).toMatchObject({ field: 'scope' });
    expect(refusalOf(() => checkParams(new URLSearchParams('tag=v1&tag=v2')))).toBeUndefined();
  });

  it('checks Basic credentials as text', () => {
    const basic = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;
    expect(basicCredentials(basic('alice@example.com:ocireg_x'))).toEqual({ username: 'alice@example.com', password: 'ocireg_x' });
    expect(basicCredentials(basic('no colon'))).toBeUndefined();
    expect(basicCredentials('Bearer x')).toBeUndefined();
    expect(refusalOf(() => basicCredentials(basic('a\u0000b@example.com:secret')))).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'username' });
    expect(refusalOf(() => basicCredentials(basic('a@example.com:se\u0000cret')))).toMatchObject({ field: 'password' });
  });
});
