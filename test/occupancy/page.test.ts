// The occupancy page against a running stack, in Debian's headless Chromium: its data endpoints
// (token, bad input, ETag), cells changing colour as Vips, a pod and a manual reservation come
// and go (read from the canvas pixels), hover, the AAP table, and a /16 with a few thousand
// holders drawn in under a second (screenshot kept under .local/artifacts/).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../infra/local/services.ts';
import { ROOT } from '../../infra/local/stack.ts';
import type { KubeObject } from '../../shared/kube/index.ts';
import { type E2E, podObject, startE2E, vipObject } from '../e2e/harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, '.local/artifacts');

let e: E2E;
let browser: Browser;
let base: string;
let token: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  e = await startE2E();
  base = `${e.stack.functions[0]!.url}/occupancy`;
  token = e.stack.apiToken;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await e?.stop();
});

/** What the page exposes on window for people and tests (this file has no DOM types). */
interface PageHooks {
  renders: number;
  lastRenderMs: number;
  pixelAt(subnet: string, address: string): string | null;
  cellCenter(subnet: string, address: string): { x: number; y: number } | null;
}

const api = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });

describe('data endpoints', () => {
  it('serve the page without a token, and data only with it', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('src="/occupancy/app.js"');
    const slash = await fetch(`${base}/?subnet=x`, { redirect: 'manual' });
    expect(slash.status).toBe(308);
    expect(slash.headers.get('location')).toBe('/occupancy?subnet=x');
    expect((await fetch(`${base}/app.js`)).headers.get('content-type')).toContain('javascript');

    const anon = await fetch(`${base}/api/subnets`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ reason: 'Unauthorized' });
    expect((await api('/api/subnets', { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('refuses a bad subnet name (400) and names an unknown one (404)', async () => {
    const bad = await api('/api/subnets/Not_A_Name');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ reason: 'InvalidRequest', details: { field: 'name' } });
    const missing = await api('/api/subnets/no-such-subnet');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ reason: 'SubnetNotFound' });
  });

  it('sends runs with an ETag and answers 304 while nothing changed', async () => {
    const res = await api('/api/subnets/ovn-default');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { families: { cells: number; runs: unknown[][] }[]; states: string[] };
    expect(body.states).toEqual(['free', 'excluded', 'gateway', 'vip', 'pod', 'manual']);
    expect(body.families[0]!.cells).toBe(65_536);
    expect(body.families[0]!.runs.length).toBeLessThan(100); // runs, not 65,536 cells
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect((await api('/api/subnets/ovn-default', { 'if-none-match': etag })).status).toBe(304);
  });
});

/** Opens the page, enters the token in its form, and waits for the first drawing. */
async function openPage(query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${base}/?${query}`); // the slash redirects
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => (globalThis as unknown as { occupancy: PageHooks }).occupancy.renders > 0);
  return page;
}

/** The colour of a state as the legend shows it, as #rrggbb (what the canvas must show too). */
async function legendColour(page: Page, state: string): Promise<string> {
  const rgb = await page.$eval(
    `#legend [data-state="${state}"]`,
    (el) =>
      (
        globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
      ).getComputedStyle(el).backgroundColor,
  );
  const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
  return `#${[r, g, b].map((x) => x!.toString(16).padStart(2, '0')).join('')}`;
}

const pixel = (page: Page, subnet: string, address: string) =>
  page.evaluate(
    ([s, a]) => (globalThis as unknown as { occupancy: PageHooks }).occupancy.pixelAt(s!, a!),
    [subnet, address],
  );

const waitColour = (page: Page, subnet: string, address: string, colour: string) =>
  expect.poll(() => pixel(page, subnet, address), { timeout: 15_000, interval: 100 }).toBe(colour);

describe('the page in Chromium', () => {
  it('colours cells as a Vip, a pod and a manual reservation come and go, and shows holders on hover', async () => {
    const page = await openPage('subnet=ovn-default&interval=300');
    const colour = {
      free: await legendColour(page, 'free'),
      gateway: await legendColour(page, 'gateway'),
      excluded: await legendColour(page, 'excluded'),
      vip: await legendColour(page, 'vip'),
      pod: await legendColour(page, 'pod'),
      manual: await legendColour(page, 'manual'),
    };
    expect(new Set(Object.values(colour)).size).toBe(6);
    expect(await pixel(page, 'ovn-default', '10.16.0.1')).toBe(colour.gateway);
    expect(await pixel(page, 'ovn-default', '10.16.0.0')).toBe(colour.excluded);

    await e.apply(vipObject('occ-a', { subnet: 'ovn-default' }));
    const vip = await e.waitVip('occ-a', (v) => v.status?.ready === true && !!v.status.v4ip);
    const vipIp = vip.status!.v4ip!;
    await waitColour(page, 'ovn-default', vipIp, colour.vip);

    await e.apply(podObject('default', 'occ-pod'));
    const pod = await e.waitPod(
      'default',
      'occ-pod',
      (p) => !!p.metadata.annotations?.['ovn.kubernetes.io/ip_address'],
    );
    const podIp = pod.metadata.annotations!['ovn.kubernetes.io/ip_address']!;
    await waitColour(page, 'ovn-default', podIp, colour.pod);

    const manual = await e.allocator.allocate({ subnet: 'ovn-default', owner: 'team-db' });
    await waitColour(page, 'ovn-default', manual.v4!, colour.manual);

    // hover: the tooltip names the holder
    const at = await page.evaluate(
      (a) => (globalThis as unknown as { occupancy: PageHooks }).occupancy.cellCenter('ovn-default', a),
      vipIp,
    );
    await page.mouse.move(at!.x, at!.y);
    await expect.poll(() => page.textContent('#tip')).toContain(`${vipIp}  Vip occ-a`);

    // gone again: back to free
    await e.kube.delete('Vip', { name: 'occ-a' });
    await waitColour(page, 'ovn-default', vipIp, colour.free);
    await e.allocator.release('ovn-default', 'team-db');
    await waitColour(page, 'ovn-default', manual.v4!, colour.free);
    expect(await pixel(page, 'ovn-default', podIp)).toBe(colour.pod);
    await page.close();
  }, 90_000);

  it('lists AAP Vips with their parents and live holder', async () => {
    const page = await openPage('subnet=ovn-default&interval=300');
    await e.apply(
      vipObject('occ-aap', { subnet: 'ovn-default', namespace: 'default', selector: ['app: occ'] }),
    );
    const asks = { 'ovn.kubernetes.io/aaps': 'occ-aap' };
    await e.apply(podObject('default', 'occ-p1', { labels: { app: 'occ' }, annotations: asks }));
    await e.apply(podObject('default', 'occ-p2', { labels: { app: 'occ' }, annotations: asks }));
    await e.waitVip('occ-aap', (v) => (v.status?.pv4ip ?? '').split(',').length === 2, 'two parents');
    const row = page.locator('#vips tr[data-vip="occ-aap"]');
    await expect
      .poll(() => row.textContent(), { timeout: 15_000 })
      .toContain('occ-p1.default, occ-p2.default');
    // status.holder is what the node agent writes from OVN's Port_Binding (no dataplane here)
    await e.kube.patchStatus('Vip', 'occ-aap', { holder: 'occ-p2.default' });
    await expect
      .poll(() => row.locator('td.holder').textContent(), { timeout: 15_000 })
      .toBe('occ-p2.default');
    expect(await row.locator('strong').textContent()).toBe('occ-p2.default');
    await page.close();
  }, 90_000);

  it('draws a /16 with a few thousand holders in under a second', async () => {
    const subnet: KubeObject = {
      apiVersion: 'kubeovn.io/v1',
      kind: 'Subnet',
      metadata: { name: 'big' },
      spec: {
        cidrBlock: '10.20.0.0/16',
        protocol: 'IPv4',
        excludeIps: ['10.20.224.0..10.20.239.255', '10.20.250.1'],
      },
    };
    await e.apply(subnet);
    await waitFor('subnet big registered', async () => !!(await e.allocator.getSubnet('big')), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    // 4,000 holders in mixed blocks: Vips, pods and manual owners, with free gaps between.
    const owners: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const kind = Math.floor(i / 97) % 3;
      owners.push(kind === 0 ? `vip/bulk-${i}` : kind === 1 ? `pod/bulk-${i}.default` : `manual-${i}`);
    }
    const spread = (i: number) => `10.20.${Math.floor((i * 13) / 250)}.${((i * 13) % 250) + 2}`;
    for (let i = 0; i < owners.length; i += 200) {
      await Promise.all(
        owners
          .slice(i, i + 200)
          .map((owner, k) => e.allocator.allocate({ subnet: 'big', owner, v4: spread(i + k) })),
      );
    }
    // the data: runs, so ~2 per holder, not one item per address of the /16
    const started = performance.now();
    const res = await api('/api/subnets/big');
    const text = await res.text();
    const fetchMs = performance.now() - started;
    const runs = (JSON.parse(text) as { families: { runs: unknown[] }[] }).families[0]!.runs.length;
    expect(runs).toBeLessThan(2 * owners.length + 10);
    expect(text.length).toBeLessThan(300_000);

    const page = await openPage('subnet=big&interval=60000');
    const ms = await page.evaluate(
      () => (globalThis as unknown as { occupancy: PageHooks }).occupancy.lastRenderMs,
    );
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
    expect(await pixel(page, 'big', spread(0))).toBe(await legendColour(page, 'vip'));
    expect(await pixel(page, 'big', spread(97))).toBe(await legendColour(page, 'pod'));
    expect(await pixel(page, 'big', spread(194))).toBe(await legendColour(page, 'manual'));
    expect(await pixel(page, 'big', '10.20.230.7')).toBe(await legendColour(page, 'excluded'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'occupancy-slash16.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(existsSync(file)).toBe(true);
    console.log(
      `occupancy: /16 with ${owners.length} holders: ${runs} runs, ${text.length} bytes, served in ${fetchMs.toFixed(0)} ms, drawn in ${ms.toFixed(1)} ms; screenshot ${file}`,
    );
    await page.close();
  }, 120_000);
});
