import { describe, expect, it } from 'vitest';
import { readConfig, readSecret } from './config.ts';

const files: Record<string, string> = {
  '/run/secrets/api-token': 'tok-from-file\n',
  '/run/secrets/redis-password': 'pw',
  '/run/secrets/empty': '\n',
};
const readFile = (p: string) => {
  const text = files[p];
  if (text === undefined) throw new Error(`ENOENT: ${p}`);
  return text;
};

describe('secrets from the environment or a file', () => {
  it('reads NAME, or the file NAME_FILE names without its trailing newline', () => {
    expect(readSecret({ API_TOKEN: 't' }, 'API_TOKEN')).toBe('t');
    expect(readSecret({ API_TOKEN_FILE: '/run/secrets/api-token' }, 'API_TOKEN', { readFile })).toBe(
      'tok-from-file',
    );
    expect(readSecret({}, 'API_TOKEN')).toBeUndefined();
  });

  it('refuses both at once, an unreadable or empty file, and a file on a runtime without files', () => {
    expect(() =>
      readSecret({ API_TOKEN: 't', API_TOKEN_FILE: '/run/secrets/api-token' }, 'API_TOKEN', { readFile }),
    ).toThrow(/API_TOKEN or API_TOKEN_FILE, not both/);
    expect(() => readSecret({ API_TOKEN_FILE: '/nope' }, 'API_TOKEN', { readFile })).toThrow(
      /cannot read \/nope/,
    );
    expect(() => readSecret({ API_TOKEN_FILE: '/run/secrets/empty' }, 'API_TOKEN', { readFile })).toThrow(
      /empty/,
    );
    expect(() => readSecret({ API_TOKEN_FILE: '/run/secrets/api-token' }, 'API_TOKEN')).toThrow(
      /needs a file system.*set API_TOKEN/,
    );
  });

  it('applies to every secret of the configuration, the Redis password to both Redis kinds', () => {
    const c = readConfig(
      {
        API_TOKEN_FILE: '/run/secrets/api-token',
        REDIS_PASSWORD_FILE: '/run/secrets/redis-password',
        RELAY_SECRET: 'hmac',
        EVENTS_TOKEN: 'ev',
        ADMISSION_TOKEN: 'adm',
      },
      { readFile },
    );
    expect(c).toMatchObject({
      apiToken: 'tok-from-file',
      relaySecret: 'hmac',
      eventsToken: 'ev',
      admissionAuth: { token: 'adm' },
      redis: { kind: 'standalone', password: 'pw' },
    });
    expect(readConfig({ REDIS_CLUSTER_NODES: 'a:1,b:2', REDIS_PASSWORD: 'pw' }).redis).toMatchObject({
      kind: 'cluster',
      password: 'pw',
    });
  });
});

describe('TLS settings', () => {
  it('takes a certificate and key together, and a client CA only with them', () => {
    expect(readConfig({ TLS_CERT_FILE: '/t/tls.crt', TLS_KEY_FILE: '/t/tls.key' }).tls).toEqual({
      certFile: '/t/tls.crt',
      keyFile: '/t/tls.key',
    });
    expect(readConfig({}).tls).toBeUndefined();
    expect(() => readConfig({ TLS_CERT_FILE: '/t/tls.crt' })).toThrow(/TLS_CERT_FILE also need TLS_KEY_FILE/);
    expect(() => readConfig({ ADMISSION_CLIENT_CA_FILE: '/t/ca.crt' })).toThrow(/needs HTTPS/);
    expect(
      readConfig({ TLS_CERT_FILE: '/t/c', TLS_KEY_FILE: '/t/k', ADMISSION_CLIENT_CA_FILE: '/t/ca.crt' })
        .admissionAuth,
    ).toEqual({ clientCaFile: '/t/ca.crt', token: undefined });
  });
});

describe('KUBE_EVENTS', () => {
  it('is all by default, takes warnings or none, and refuses anything else', () => {
    expect(readConfig({}).kubeEvents).toBe('all');
    expect(readConfig({ KUBE_EVENTS: 'Warnings' }).kubeEvents).toBe('warnings');
    expect(readConfig({ KUBE_EVENTS: 'none' }).kubeEvents).toBe('none');
    expect(() => readConfig({ KUBE_EVENTS: 'some' })).toThrow(
      /KUBE_EVENTS "some" must be all, warnings or none/,
    );
  });
});
