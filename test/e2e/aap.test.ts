// Allowed-Address-Pairs through the relay: parents come out sorted and follow pods being added,
// relabelled, re-annotated and deleted; a pod of another namespace is never a parent; two dynamic
// Vips never share an address or a MAC.
import { afterAll, beforeAll, describe } from 'vitest';
import { type E2E, startE2E } from './harness.ts';
import { aapScenario } from './scenarios/aap.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

describe('AAP and dynamic Vips', () => {
  aapScenario(() => e);
});
