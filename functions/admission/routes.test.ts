import { describe, expect, it } from 'vitest';
import { createAdmissionRoutes } from './routes.ts';

const app = createAdmissionRoutes({
  lookupSubnet: async (name) =>
    name === 'ovn-default' ? { metadata: { name }, spec: { cidrBlock: '10.16.0.0/16' } } : undefined,
  token: 't0k',
});
const post = (body: unknown, token = 't0k') =>
  app.request('/vips', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
const review = (spec: unknown) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'abc',
    kind: { group: 'kubeovn.io', version: 'v1', kind: 'Vip' },
    operation: 'CREATE',
    name: 'v',
    object: { metadata: { name: 'v' }, spec },
  },
});

describe('POST /vips (admission)', () => {
  it('answers an AdmissionReview with the verdict and the request uid', async () => {
    const ok = await post(review({ subnet: 'ovn-default' }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'abc', allowed: true },
    });
    const no = (await (await post(review({ subnet: 'ovn-default', v4ip: '10.99.0.1' }))).json()) as {
      response: unknown;
    };
    expect(no.response).toMatchObject({
      uid: 'abc',
      allowed: false,
      status: { code: 400, message: '10.99.0.1 is outside 10.16.0.0/16 of subnet ovn-default' },
    });
  });

  it('refuses a malformed review with 400 and a missing token with 401', async () => {
    expect((await post({ kind: 'AdmissionReview' })).status).toBe(400);
    const notJson = await app.request('/vips', {
      method: 'POST',
      headers: { authorization: 'Bearer t0k' },
      body: '{',
    });
    expect(notJson.status).toBe(400);
    expect((await post(review({ subnet: 'ovn-default' }), 'bad')).status).toBe(401);
  });

  it('refuses an object without metadata with 400, not a 503 dressed as a failed lookup (found by the fuzz)', async () => {
    const r = review({ subnet: 'nope', v6ip: 'fd00::5' });
    const update = {
      ...r,
      request: {
        ...r.request,
        operation: 'UPDATE',
        oldObject: { kind: 1.5, spec: { type: 'switch_lb_vip' } },
      },
    };
    const res = await post(update);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/oldObject\.metadata/);
  });

  it('answers 503 when the Subnet cannot be read (the API server applies failurePolicy)', async () => {
    const broken = createAdmissionRoutes({
      lookupSubnet: async () => Promise.reject(new Error('apiserver down')),
    });
    const res = await broken.request('/vips', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(review({ subnet: 'x' })),
    });
    expect(res.status).toBe(503);
  });
});
