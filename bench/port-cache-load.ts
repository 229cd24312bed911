// `PORTS=120000 node --import tsx bench/port-cache-load.ts`: how long a port cache takes to load
// PORTS Logical_Switch_Ports (default 120,000; its own NB server, filled as
// bench/coldstart.bench.ts fills it) and the longest the event loop went without running a 1 ms
// timer meanwhile: what an event arriving during the load waits. Three loads, each on a fresh
// connection, in one process (the heap line shows what the caches left behind).
import { join } from 'node:path';
import { makeTempDir, startNbServer } from '../infra/local/services.ts';
import { PortCache } from '../shared/ovn/nb/index.ts';
import { OvsdbClient } from '../shared/ovsdb/index.ts';
import { fill } from './coldstart.bench.ts';
import { watchStalls } from './stall.ts';

const PORTS = Number(process.env.PORTS ?? 120_000);
const nb = await startNbServer({ dir: join(makeTempDir('vipres-cache-load-'), 'nb') });
try {
  let t = performance.now();
  await fill(nb.remote, PORTS);
  console.log(`filled ${PORTS} ports in ${Math.round(performance.now() - t)} ms`);
  for (let round = 1; round <= 3; round++) {
    const client = await OvsdbClient.connect({
      remotes: [nb.remote],
      database: 'OVN_Northbound',
      leaderOnly: true,
    });
    const stalls = watchStalls();
    t = performance.now();
    const cache = await PortCache.start(client);
    const ms = performance.now() - t;
    await new Promise((r) => setTimeout(r, 20));
    const longest = stalls.stop();
    console.log(
      `round ${round}: ${cache.size} ports ready in ${Math.round(ms)} ms, longest event-loop stall ${Math.round(longest)} ms, heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`,
    );
    await cache.close();
    client.close();
  }
} finally {
  await nb.stop();
}
process.exit(0);
