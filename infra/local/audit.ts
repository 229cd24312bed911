// `npm run audit [-- --repair] [--json]`: compares the API server, Redis and OVN NB, prints the
// drift as a table, and with --repair acts in the direction of the API server, then audits again.
// Connection info: flags, else the environment, else .local/stack.json (written by `npm start`).
// Exit code: 0 clean (or clean after repair), 1 drift left, 2 usage or connection error.
// `--mac-layout=show|v2|v3` reads or switches the MAC registry's layout instead (Redis only): the
// upgrade's last step, once every replica runs this version (docs/parts/ipam.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  auditSystem,
  auditSystemSettled,
  driftTable,
  type Progress,
  repair,
  repairLine,
  summaryLine,
} from '../../shared/audit/index.ts';
import { readConfig } from '../../shared/config.ts';
import { readMacLayout, switchMacLayout } from '../../shared/ipam/index.ts';
import { openAuditPorts } from '../wiring/audit.ts';
import { createRedisClient } from '../wiring/redis.ts';

const ROOT = join(import.meta.dirname, '..', '..');

const USAGE = `usage: npm run audit -- [--repair] [--json] [--quiet] [connection flags]
  --repair               fix drift in the direction of the API server, then audit again
  --json                 print one JSON document instead of the table
  --quiet                no progress on stderr
  --rounds N             audit N times (--interval ms apart, default 1000) and report only the
                         drift every round saw: work in flight on a live system is not drift
  --redis-url URL        (REDIS_URL; its password in REDIS_PASSWORD or REDIS_PASSWORD_FILE)
  --redis-cluster H:P,.. (REDIS_CLUSTER_NODES)
  --nb REMOTES           OVN NB, e.g. tcp:127.0.0.1:6641 (OVN_NB_REMOTES; ssl: remotes take
                         OVN_NB_SSL_KEY_FILE, OVN_NB_SSL_CERT_FILE, OVN_NB_SSL_CA_FILE)
  --kubeconfig FILE      (KUBECONFIG)
  --stack FILE           fallback description (default .local/stack.json)
  --mac-layout show|v2|v3
                         no audit: print the MAC registry's layout (v1: h:<holder> written for
                         older replicas; v2: m:<MAC> for every MAC; v3: none for a dynamic MAC),
                         or switch it forward once every replica runs this version (no way back)
exit code: 0 clean, 1 drift left, 2 error`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      repair: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '1' },
      interval: { type: 'string', default: '1000' },
      'redis-url': { type: 'string' },
      'redis-cluster': { type: 'string' },
      nb: { type: 'string' },
      kubeconfig: { type: 'string' },
      stack: { type: 'string' },
      'mac-layout': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rounds = Number(values.rounds);
  const delayMs = Number(values.interval);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isFinite(delayMs) || delayMs < 0) {
    console.error(`--rounds must be a whole number >= 1 and --interval a number of ms\n\n${USAGE}`);
    return 2;
  }
  const macLayout = values['mac-layout'];
  if (macLayout !== undefined && macLayout !== 'show' && macLayout !== 'v2' && macLayout !== 'v3') {
    console.error(`--mac-layout must be show, v2 or v3\n\n${USAGE}`);
    return 2;
  }
  const stackFile = values.stack ?? join(ROOT, '.local/stack.json');
  const stack: Record<string, unknown> = existsSync(stackFile)
    ? JSON.parse(readFileSync(stackFile, 'utf8'))
    : {};
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const env = process.env;
  const clusterNodes = values['redis-cluster'] ?? str(env.REDIS_CLUSTER_NODES);
  const redisUrl = values['redis-url'] ?? str(env.REDIS_URL);
  const fromStack = !clusterNodes && !redisUrl;
  const config = readConfig(
    {
      ...(fromStack
        ? str(stack.redisUrl)
          ? { REDIS_URL: str(stack.redisUrl) }
          : { REDIS_CLUSTER_NODES: str(stack.redisClusterNodes) }
        : clusterNodes
          ? { REDIS_CLUSTER_NODES: clusterNodes }
          : { REDIS_URL: redisUrl }),
      // The password: the environment's (or its file's), else the stack's (cluster mode; a standalone
      // stack's URL carries it). Never a flag: ps would show it.
      ...(env.REDIS_PASSWORD || env.REDIS_PASSWORD_FILE
        ? { REDIS_PASSWORD: env.REDIS_PASSWORD, REDIS_PASSWORD_FILE: env.REDIS_PASSWORD_FILE }
        : fromStack && !str(stack.redisUrl)
          ? { REDIS_PASSWORD: str(stack.redisPassword) }
          : {}),
      OVN_NB_REMOTES: values.nb ?? str(env.OVN_NB_REMOTES) ?? str(stack.nbRemote),
      OVN_NB_SSL_KEY_FILE: env.OVN_NB_SSL_KEY_FILE,
      OVN_NB_SSL_CERT_FILE: env.OVN_NB_SSL_CERT_FILE,
      OVN_NB_SSL_CA_FILE: env.OVN_NB_SSL_CA_FILE,
      KUBECONFIG: values.kubeconfig ?? str(env.KUBECONFIG) ?? str(stack.kubeconfig),
      KEEP_VM_IP: env.KEEP_VM_IP,
      // The reconcilers' log would mix into the table on stdout.
      LOG_LEVEL: 'silent',
    },
    { readFile: (p) => readFileSync(p, 'utf8') },
  );
  if (fromStack && !existsSync(stackFile) && !config.nbRemotes) {
    console.error(
      `no connection info: pass flags, set REDIS_URL/OVN_NB_REMOTES/KUBECONFIG, or run npm start\n\n${USAGE}`,
    );
    return 2;
  }

  if (macLayout !== undefined) {
    const redis = createRedisClient(config);
    try {
      if (macLayout === 'show') console.log(`MAC registry layout: ${await readMacLayout(redis)}`);
      else {
        const { before, after } = await switchMacLayout(redis, macLayout);
        console.log(
          `MAC registry layout: ${before === after ? `${after} already` : `${before} -> ${after}`}`,
        );
      }
      return 0;
    } finally {
      await redis.quit().catch(() => redis.disconnect());
    }
  }

  const progress = (p: Progress) => {
    if (!values.quiet) process.stderr.write(`[audit] ${p.step}: ${p.count}\n`);
  };
  const ports = await openAuditPorts(config);
  try {
    const started = Date.now();
    const before =
      rounds > 1
        ? await auditSystemSettled(ports, { onProgress: progress, rounds, delayMs })
        : await auditSystem(ports, { onProgress: progress });
    if (!values.quiet) process.stderr.write(`[audit] compared in ${Date.now() - started} ms\n`);
    if (!values.repair || before.drifts.length === 0) {
      if (values.json) console.log(JSON.stringify({ clean: before.drifts.length === 0, ...before }, null, 2));
      else printReport(before.drifts, before.counts);
      return before.drifts.length === 0 ? 0 : 1;
    }
    const report = await repair(before.drifts, ports);
    const after = await auditSystem(ports, { onProgress: progress });
    if (values.json) {
      console.log(
        JSON.stringify({ clean: after.drifts.length === 0, before, repair: report, after }, null, 2),
      );
    } else {
      printReport(before.drifts, before.counts);
      console.log(`\n${repairLine(report)}`);
      for (const f of report.failed) console.log(`  failed  ${f.drift.kind} ${f.drift.object}: ${f.error}`);
      for (const s of report.skipped) console.log(`  skipped ${s.drift.kind} ${s.drift.object}: ${s.why}`);
      console.log('\nafter repair:');
      printReport(after.drifts, after.counts);
    }
    return after.drifts.length === 0 ? 0 : 1;
  } finally {
    await ports.close();
  }
}

function printReport(drifts: Parameters<typeof driftTable>[0], counts: Parameters<typeof summaryLine>[1]) {
  if (drifts.length > 0) console.log(driftTable(drifts, { maxDetail: 100 }));
  console.log(summaryLine(drifts, counts));
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`audit failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
