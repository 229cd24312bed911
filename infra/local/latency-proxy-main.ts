// The latency proxies as a process of their own (`--rtt MS --target PORT ...`), so the delay they
// add does not depend on how busy the process that started them is (the scaling demo's API server
// and load generator). Prints `latency proxies: {"ports":[...]}` (one per target, in order) once
// listening; stops on SIGTERM.
import { parseArgs } from 'node:util';
import { startLatencyProxy } from './latency-proxy.ts';

const { values } = parseArgs({
  options: { rtt: { type: 'string' }, target: { type: 'string', multiple: true } },
});
const rttMs = Number(values.rtt);
const proxies = await Promise.all(
  (values.target ?? []).map((t) => startLatencyProxy({ targetPort: Number(t), rttMs })),
);
console.log(`latency proxies: ${JSON.stringify({ ports: proxies.map((p) => p.port) })}`);
process.on('SIGTERM', () => {
  void Promise.all(proxies.map((p) => p.stop())).then(() => process.exit(0));
});
