// The seed document, applied as written, through the relay: every Vip Ready with a 10.16.x address
// and a 00:00:00:XX:XX:XX MAC, static-vip01 on 10.16.0.121, busybox the virtual parent of vip-aap,
// the pod-use-vip address on the static-ip pod, and the printed table with the seed's header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, startE2E } from './harness.ts';
import { seedScenario } from './scenarios/seed.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

seedScenario(() => e);

describe('admission in the local stack', () => {
  it('refuses a bad Vip at kubectl apply with the function message, and stores nothing', async () => {
    const withAdmission = await startE2E({ admission: true, relay: false });
    try {
      const bad = {
        apiVersion: 'kubeovn.io/v1',
        kind: 'Vip',
        metadata: { name: 'bad' },
        spec: { subnet: 'ovn-default', v4ip: '10.17.0.5' },
      };
      await expect(withAdmission.kubectlApply(bad)).rejects.toThrow(
        /admission webhook "vip-validation.kubeovn.io" denied the request: .*10\.17\.0\.5 is outside 10\.16\.0\.0\/16/,
      );
      expect(await withAdmission.vip('bad')).toBeUndefined();
      await withAdmission.kubectlApply({ ...bad, spec: { subnet: 'ovn-default', v4ip: '10.16.0.5' } });
      expect(await withAdmission.vip('bad')).toBeDefined();
    } finally {
      await withAdmission.stop();
    }
  });
});
