import { describe, expect, it } from 'vitest';
import type { ZodTypeAny } from 'zod';
import { RegistryError } from '@ocireg/errors';
import { webApi } from '@ocireg/web-api';
import { parseRequest, queryValues } from './api-request';

/** The refusal parseRequest throws: its message and the field it names. */
function refusal(run: () => unknown): { message: string; field: unknown } {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    const { code, message, detail } = err as RegistryError;
    expect(code).toBe('INVALID_ARGUMENT');
    return { message, field: (detail as { field?: unknown } | undefined)?.field };
  }
  throw new Error('not refused');
}

describe('request bodies parsed with the JSON API schemas', () => {
  const body = <S extends ZodTypeAny>(schema: S, value: unknown) => () => parseRequest(schema, value, 'body');

  it('takes absent and null strings as ""', () => {
    expect(body(webApi.signIn.body, { email: 'a@example.com', password: 'pw', extra: 1 })()).toEqual({ email: 'a@example.com', password: 'pw' });
    expect(body(webApi.redeemPasswordLink.body, { secret: null })()).toEqual({ secret: '', password: '' });
  });

  it('keeps the messages the gateway has always written', () => {
    expect(refusal(body(webApi.signIn.body, { password: 'pw' }))).toEqual({ message: 'email and password are required', field: 'email' });
    expect(refusal(body(webApi.signIn.body, { email: 'a@example.com' }))).toEqual({ message: 'email and password are required', field: 'password' });
    expect(refusal(body(webApi.setMember.body, { user: 'a@example.com', role: 'owner' }))).toEqual({ message: 'role must be read, write or admin', field: 'role' });
    expect(refusal(body(webApi.setMember.body, { role: 'read' }))).toEqual({ message: 'user (an email or user id) is required', field: 'user' });
    expect(refusal(body(webApi.createPackage.body, { name: '  ', sourceRepository: 'app' }))).toEqual({ message: 'name is required', field: 'name' });
    expect(refusal(body(webApi.createPackage.body, { name: 'app' }))).toEqual({ message: 'sourceRepositoryId (or sourceRepository, a slug) is required', field: 'sourceRepositoryId' });
    expect(refusal(body(webApi.createToken.body, { scopes: 'read:package', expiresInDays: 7 }))).toEqual({ message: 'scopes: a list, e.g. ["read:package","write:package"]', field: 'scopes' });
    expect(refusal(body(webApi.createToken.body, { scopes: [], expiresInDays: 7 })).field).toBe('scopes');
    expect(refusal(body(webApi.createToken.body, { scopes: ['read:package'], expiresInDays: 9999 }))).toEqual({ message: 'expiresInDays: a whole number of days from 1 to 365', field: 'expiresInDays' });
    expect(refusal(body(webApi.createToken.body, { scopes: ['read:package'] })).field).toBe('expiresInDays');
  });

  it('words zod\'s own refusals with the field, named as text-input names them', () => {
    expect(refusal(body(webApi.signIn.body, { email: 5, password: [] }))).toEqual({ message: 'email: must be a string', field: 'email' });
    expect(refusal(body(webApi.createToken.body, { scopes: ['read:package', 7], expiresInDays: 7 }))).toEqual({ message: 'scopes[1]: must be a string', field: 'scopes[1]' });
    expect(refusal(body(webApi.signIn.body, ['a@example.com']))).toEqual({ message: 'body: must be an object', field: 'body' });
  });

  it('trims a package name and takes a number of days written as a string', () => {
    expect(body(webApi.createPackage.body, { name: ' tools/cli ', sourceRepository: 'app' })()).toEqual({ name: 'tools/cli', sourceRepositoryId: '', sourceRepository: 'app', project: '' });
    expect(body(webApi.createToken.body, { name: 'ci', scopes: ['read:package'], expiresInDays: '7' })()).toEqual({ name: 'ci', scopes: ['read:package'], expiresInDays: 7 });
    expect(body(webApi.createInvitation.body, { email: 'a@example.com', purpose: 'anything' })()).toEqual({ email: 'a@example.com', workspace: '', purpose: 'invite' });
  });
});

describe('queries parsed with the JSON API schemas', () => {
  const images = (query: Record<string, unknown>) => () => parseRequest(webApi.listImages.query, queryValues(query), 'query');

  it('takes the first of repeated parameters, an empty one as absent, and fills in the defaults', () => {
    expect(queryValues({ sort: ['name', 'last-pushed'], prefix: '', project: 'main' })).toEqual({ sort: 'name', project: 'main' });
    expect(images({ sort: '', page_size: '' })()).toEqual({ project: '', sourceRepository: '', prefix: '', sort: 'name', page_size: 0, page_token: '' });
    expect(images({ sort: 'last_pushed', page_size: '50' })()).toMatchObject({ sort: 'last_pushed', page_size: 50 });
    expect(parseRequest(webApi.listWorkspaces.query, {}, 'query')).toEqual({ page_size: 100, page_token: '' });
  });

  it('refuses an unknown sort order and a page size out of bounds, naming them', () => {
    expect(refusal(images({ sort: 'size' }))).toEqual({ message: 'sort must be one of: name, last-pushed', field: 'sort' });
    expect(refusal(images({ page_size: '100000' }))).toEqual({ message: 'page_size must be a whole number from 0 to 500', field: 'page_size' });
    expect(refusal(images({ page_size: '-1' })).field).toBe('page_size');
    expect(refusal(() => parseRequest(webApi.listTags.query, { page_size: '201' }, 'query')).message).toBe('page_size must be a whole number from 0 to 200');
    expect(refusal(() => parseRequest(webApi.listTags.query, { sort: 'last_pushed' }, 'query')).field).toBe('sort');
  });
});
