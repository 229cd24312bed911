// CLI: runs the node agent in the foreground until SIGINT/SIGTERM, then removes what it made.
//   node --import tsx infra/node-agent/main.ts --nb tcp:127.0.0.1:6641 --kubeconfig FILE [--dir DIR] [--instance ID]
// Prints one JSON line when ready: {"ready":true,"instance":...,"sbRemote":...,"dir":...}.
import { parseArgs } from 'node:util';
import { makeTempDir } from '../local/services.ts';
import { cannotRunReason, startNodeAgent } from './agent.ts';

const { values } = parseArgs({
  options: {
    nb: { type: 'string' },
    kubeconfig: { type: 'string' },
    dir: { type: 'string' },
    instance: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const reason = cannotRunReason();
if (reason) {
  console.error(`node agent: ${reason}`);
  process.exit(2);
}
if (!values.nb || !values.kubeconfig) {
  console.error('usage: main.ts --nb REMOTE --kubeconfig FILE [--dir DIR] [--instance ID]');
  process.exit(2);
}
const agent = await startNodeAgent({
  dir: values.dir ?? makeTempDir('vipres-node-'),
  nbRemote: values.nb,
  kube: { kubeconfigPath: values.kubeconfig },
  ...(values.instance ? { instance: values.instance } : {}),
  log: values.quiet ? undefined : (l) => console.error(`node agent: ${l}`),
});
console.log(
  JSON.stringify({ ready: true, instance: agent.instance, sbRemote: agent.sbRemote, dir: agent.dir }),
);
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void agent.stop().finally(() => process.exit(0));
  });
}
