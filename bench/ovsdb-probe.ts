// A closer look at the OVSDB bench's biggest size: one switch filled with N ports (default 50,000),
// then a PortCache loaded three times (wall, this process's CPU, heap kept: run with --expose-gc)
// and 3,000 ports created one transaction at a time (ovsdb-server's CPU and this process's per
// transaction). Run it with and without GLIBC_TUNABLES to see the server's malloc share:
//   npx tsc -p tsconfig.build.json && node --expose-gc dist/bench/ovsdb-probe.js 50000
import { startNbServer } from '../infra/local/services.ts';
import {
  createPortOps,
  NorthboundWriter,
  PortCache,
  podPortSpec,
  requireSwitch,
} from '../shared/ovn/nb/index.ts';
import { type Operation, OvsdbClient } from '../shared/ovsdb/index.ts';
import { cpuPerUnit, sampleCpu } from './cpu.ts';

const SWITCH = 'probe';
const size = Number(process.argv[2] ?? 50_000);
const TXNS = 3000;
const spec = (name: string, i: number) =>
  podPortSpec({
    switchName: SWITCH,
    name,
    mac: '0a:00:00:00:00:01',
    ips: [`10.${100 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`],
    pod: name,
    namespace: 'probe',
  });
const gc = (globalThis as { gc?: () => void }).gc;
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const server = await startNbServer();
const connect = () =>
  OvsdbClient.connect({ remotes: [server.remote], database: 'OVN_Northbound', requestTimeoutMs: 60_000 });
const client = await connect();
try {
  await new NorthboundWriter(client).ensureLogicalSwitch({ name: SWITCH, cidrBlock: '10.100.0.0/10' });
  for (let filled = 0; filled < size; ) {
    const ops: Operation[] = [];
    for (let j = 0; j < 1000 && filled < size; j++, filled++) {
      ops.push(...createPortOps(spec(`fill-${filled}`, filled), `p${j}`));
    }
    await client.transact(ops);
  }
  for (let r = 0; r < 3; r++) {
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const cacheClient = await connect();
    const [c0, t0] = [cpuMs(), performance.now()];
    const cache = await PortCache.start(cacheClient);
    const [wall, cpu] = [performance.now() - t0, cpuMs() - c0];
    gc?.();
    const heap = gc
      ? `${((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(0)} MB`
      : '- (no --expose-gc)';
    console.log(
      `PortCache load of ${cache.size} ports: ${wall.toFixed(0)} ms, CPU ${cpu.toFixed(0)} ms, heap ${heap}`,
    );
    await cache.close();
    cacheClient.close();
  }
  const before = sampleCpu({ server: server.pid });
  const t0 = performance.now();
  for (let i = 0; i < TXNS; i++)
    await client.transact([requireSwitch(SWITCH), ...createPortOps(spec(`seq-${i}`, i))]);
  const seconds = (performance.now() - t0) / 1000;
  const per = cpuPerUnit(before, sampleCpu({ server: server.pid }), TXNS);
  console.log(
    `${TXNS} ports 1 txn at a time at ${size}: ${(TXNS / seconds).toFixed(0)} txn/s, CPU per txn: ` +
      `ovsdb-server ${((per.server ?? 0) * 1000).toFixed(0)} us, this process ${((per.self ?? 0) * 1000).toFixed(0)} us` +
      `${process.env.GLIBC_TUNABLES ? ` (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES})` : ''}`,
  );
} finally {
  client.close();
  await server.stop();
}
process.exit(0);
