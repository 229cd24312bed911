// Every bearer-protected group answers a missing or wrong token the same way (401 with
// `WWW-Authenticate: Bearer`, its own stable reason), through the one check in auth.ts.

import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createAdmissionRoutes } from './admission/routes.ts';
import { requireBearer, requireCaller } from './auth.ts';

const refusal = { reason: 'Unauthorized', missing: 'send one', invalid: 'not this one' };
const guarded = new Hono().use('*', requireBearer('s3cret', refusal)).get('/', (c) => c.text('in'));
const call = (app: { request: Hono['request'] }, authorization?: string, method = 'GET') =>
  app.request('/', { method, headers: authorization === undefined ? {} : { authorization } });

describe('requireBearer', () => {
  it('lets the token through, with any case of the scheme', async () => {
    expect(await (await call(guarded, 'Bearer s3cret')).text()).toBe('in');
    expect((await call(guarded, 'bearer s3cret ')).status).toBe(200);
  });

  it('401 with WWW-Authenticate and the group wording: missing, then wrong', async () => {
    const none = await call(guarded);
    expect([none.status, none.headers.get('www-authenticate'), await none.json()]).toEqual([
      401,
      'Bearer',
      { reason: 'Unauthorized', message: 'send one' },
    ]);
    for (const wrong of ['Bearer s3cre', 'Bearer s3crett', 'Basic czNjcmV0']) {
      const r = await call(guarded, wrong);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(await (await call(guarded, 'Bearer nope')).json()).toEqual({
      reason: 'Unauthorized',
      message: 'not this one',
    });
  });
});

describe('requireCaller', () => {
  it('passes everyone when nothing is configured', async () => {
    const open = new Hono().use('*', requireCaller({})).get('/', (c) => c.text('in'));
    expect((await call(open)).status).toBe(200);
  });

  it('refuses a missing client certificate before looking at the token', async () => {
    const app = new Hono()
      .use('*', requireCaller({ token: 't', clientCertificate: () => false }))
      .get('/', (c) => c.text('in'));
    const r = await call(app, 'Bearer t');
    expect([r.status, await r.json()]).toMatchObject([401, { reason: 'Unauthenticated' }]);
  });
});

describe('/admission with its own token', () => {
  it('answers as requireCaller does, WWW-Authenticate included', async () => {
    const app = createAdmissionRoutes({ token: 'adm', lookupSubnet: async () => undefined });
    const post = (authorization?: string) =>
      app.request('/vips', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: '{}',
      });
    const none = await post();
    expect([none.status, none.headers.get('www-authenticate'), await none.json()]).toEqual([
      401,
      'Bearer',
      { reason: 'Unauthenticated', message: 'a bearer token is required' },
    ]);
    const wrong = await post('Bearer adm2');
    expect(await wrong.json()).toEqual({
      reason: 'Unauthenticated',
      message: 'the bearer token is not valid here',
    });
    // Past the check: the body is judged (not an AdmissionReview).
    expect((await post('Bearer adm')).status).toBe(400);
  });
});
