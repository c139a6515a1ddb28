import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { RegistryError } from '@ocireg/errors';

/**
 * The web UI's built files (web/dist): hashed assets under /assets are
 * immutable and cached for a year; index.html, which names the current ones,
 * is revalidated on every load. Every other GET that is not the API is a page
 * of the single-page app and gets index.html.
 */
export function staticUi(dir: string | undefined): Router {
  const router = Router();
  const index = dir ? path.join(dir, 'index.html') : '';
  if (!dir || !existsSync(index)) {
    router.get(/.*/, (_req, _res, next) => next(new RegistryError('UNAVAILABLE', 'the web UI is not built: run `pnpm build` (it builds web/ into web/dist)')));
    return router;
  }
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false, redirect: false }));
  router.use(express.static(dir, { index: false, maxAge: '1h', redirect: false }));
  router.get(/.*/, (_req, res, next) => {
    res.sendFile(index, { headers: { 'Cache-Control': 'no-cache' } }, (err) => err && next(err));
  });
  return router;
}
