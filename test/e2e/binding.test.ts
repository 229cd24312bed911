// SPEC §3.3 through the relay: a pod takes its fixed address from a Vip, a second pod is refused
// with the holder named, and a StatefulSet pod recreated under the same name gets the same address
// until the StatefulSet is scaled below its ordinal.
import { afterAll, beforeAll, describe } from 'vitest';
import { type E2E, startE2E } from './harness.ts';
import { bindingScenario } from './scenarios/binding.ts';

let e: E2E;
beforeAll(async () => {
  e = await startE2E();
});
afterAll(async () => {
  await e?.stop();
});

describe('Vip bindings', () => {
  bindingScenario(() => e);
});
