/**
 * The live dashboard in a real browser: Debian's Chromium (apt-get install chromium) driven by
 * playwright-core, against the dashboard server fed by the fake simulation. Writes
 * reports/dashboard.png for a human to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDashboard, DashboardOptionsError, type Dashboard } from '../../scripts/simulate/dashboard/index.js';
import { createFakeSimulation } from '../../scripts/simulate/dashboard/fake.js';
import type { SimSnapshot } from '../../scripts/simulate/state.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = resolve('reports/dashboard.png');
/** style.css --level-critical (#b42318) and --level-normal (#d6f5dd), as computed styles report them. */
const CRITICAL_BACKGROUND = 'rgb(180, 35, 24)';
const NORMAL_BACKGROUND = 'rgb(214, 245, 221)';
/** Long enough for a page that polls once a second to show a change, on a busy 2-core machine. */
const WAIT_MS = 20_000;

let browser: Browser;
const dashboards: Dashboard[] = [];

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.polls) >= 1, undefined, { timeout: WAIT_MS });
  return { page, errors };
}

/**
 * The little of the DOM the browser-side callbacks below use (the project's tsconfig has no DOM lib,
 * and string expressions would need 'unsafe-eval', which the page's CSP forbids, rightly).
 */
interface BrowserElement {
  textContent: string | null;
}
declare const document: {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): BrowserElement | null;
  querySelector(selector: string): BrowserElement | null;
};
declare function getComputedStyle(element: BrowserElement): { backgroundColor: string };
declare const window: { __injected?: unknown };

const polls = (page: Page): Promise<number> => page.evaluate(() => Number(document.body.dataset.polls));
const backgroundOf = (page: Page, selector: string): Promise<string> =>
  page.evaluate((s) => getComputedStyle(document.querySelector(s)!).backgroundColor, selector);

const MISSING_CHROMIUM =
  `${CHROMIUM} not found: the dashboard test drives Debian's Chromium. Install it with ` +
  '`apt-get update && apt-get install -y chromium` (sudo if not root); .ci/run does this itself.';

afterAll(async () => {
  await browser?.close();
  await Promise.all(dashboards.map((d) => d.close()));
});

// A failing test, not a skip, when the browser is missing: the count in CI shows it.
it('has Debian Chromium at /usr/bin/chromium', () => {
  expect(existsSync(CHROMIUM), MISSING_CHROMIUM).toBe(true);
});

describe('startDashboard', () => {
  it('serves the snapshot as JSON at /api/state, not cached', async () => {
    const snapshot = createFakeSimulation({ alertAfterMs: 1000 });
    const dashboard = await startDashboard({ port: 0, snapshot });
    dashboards.push(dashboard);
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(new URL('/api/state', dashboard.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as SimSnapshot;
    expect(body.scenario).toBe('fake');
    expect(body.zones).toHaveLength(16);
    expect(body.latency.endToEnd.targetMs).toBe(10_000);
  });

  it('serves uPlot from node_modules and nothing outside its folders', async () => {
    const dashboard = await startDashboard({ port: 0, snapshot: createFakeSimulation() });
    dashboards.push(dashboard);
    const uplot = await fetch(new URL('/vendor/uplot/uPlot.esm.js', dashboard.url));
    expect(uplot.status).toBe(200);
    expect(uplot.headers.get('content-type')).toMatch(/javascript/);
    const outside = await fetch(new URL('/vendor/uplot/%2e%2e/%2e%2e/package.json', dashboard.url));
    expect(outside.status).toBe(404);
  });

  it('answers 500 when the snapshot cannot be taken, and goes on serving', async () => {
    let fail = true;
    const healthy = createFakeSimulation();
    const dashboard = await startDashboard({
      port: 0,
      snapshot: () => {
        if (fail) throw new Error('simulator not ready');
        return healthy();
      },
    });
    dashboards.push(dashboard);
    expect((await fetch(new URL('/api/state', dashboard.url))).status).toBe(500);
    fail = false;
    expect((await fetch(new URL('/api/state', dashboard.url))).status).toBe(200);
  });

  it('rejects a bad port and a missing snapshot, naming both', async () => {
    const bad = startDashboard({ port: -1, snapshot: undefined as unknown as () => SimSnapshot });
    await expect(bad).rejects.toThrow(DashboardOptionsError);
    await expect(bad).rejects.toThrow(/port: got -1, expected an integer 0-65535.*snapshot: got undefined/);
  });
});

describe('createFakeSimulation', () => {
  it('accounts for every published reading, raises the scripted alerts in order, and keeps its lists bounded', () => {
    let clock = 1_000_000;
    const snapshot = createFakeSimulation({ zones: 9, sensorsPerZone: 10, alertAfterMs: 3000, now: () => clock });
    const start = snapshot();
    expect(start.totals.published).toBe(0);
    expect(start.activeAlerts).toEqual([]);

    clock += 20_000;
    const s = snapshot();
    expect(s.totals.published).toBeGreaterThan(0);
    expect(s.totals.published).toBe(s.totals.stored + s.totals.quarantined + s.totals.inFlight);
    expect(Object.values(s.quarantinedByReason).reduce((a, b) => a + b, 0)).toBe(s.totals.quarantined);
    const incident = s.recentAlerts.filter((a) => a.zoneId === s.recentAlerts.at(-1)!.zoneId).reverse();
    expect(incident.map((a) => `${a.from}>${a.to}`)).toEqual(['NORMAL>WARNING', 'WARNING>CRITICAL']);
    expect(incident[0]!.receivedAt).toBe(start.startedAt + 3000);
    expect(s.zones.find((z) => z.zoneId === incident[0]!.zoneId)!.level).toBe('CRITICAL');
    expect(s.silentSensors.every((x) => x.silentForMs > 3000)).toBe(true);
    expect(s.silentSensors.length).toBeGreaterThan(0);

    clock += 3_600_000; // an hour later (a laptop asleep): bounded, not replayed step by step
    const later = snapshot();
    expect(later.history.length).toBeLessThanOrEqual(300);
    expect(later.recentAlerts.length).toBeLessThanOrEqual(50);
    expect(later.totals.published).toBe(later.totals.stored + later.totals.quarantined + later.totals.inFlight);
  });

  it('rejects bad options, naming each', () => {
    expect(() => createFakeSimulation({ zones: 0, hz: -1, zoneIds: [] })).toThrow(/zones: got 0.*hz: got -1/);
  });
});

describe('the dashboard page in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  it('loads, moves its numbers between polls, shows an alert and a CRITICAL zone, with no console error', async () => {
    const dashboard = await startDashboard({ port: 0, snapshot: createFakeSimulation({ alertAfterMs: 3000 }) });
    dashboards.push(dashboard);
    const { page, errors } = await openPage(dashboard.url);

    await expect(page.title()).resolves.toMatch(/TapStack · local pipeline$/);
    await expect(page.locator('#zone-grid .zone').count()).resolves.toBe(16);

    // Numbers move: the published total read at one poll differs at a later poll.
    const first = await page.locator('#total-published').textContent();
    const pollsAtFirst = await polls(page);
    await page.waitForFunction(
      ([before, n]) => Number(document.body.dataset.polls) > n && document.getElementById('total-published')!.textContent !== before,
      [first, pollsAtFirst] as const,
      { timeout: WAIT_MS },
    );
    expect(Number((await page.locator('#total-published').textContent())!.replace(/,/g, ''))).toBeGreaterThan(
      Number(first!.replace(/,/g, '') || 0),
    );

    // The scripted incident: an alert appears in the active list, and its zone turns CRITICAL.
    await page.locator('#active-alerts tbody tr').first().waitFor({ timeout: WAIT_MS });
    const critical = page.locator('#zone-grid .zone[data-level="CRITICAL"]');
    await critical.first().waitFor({ timeout: WAIT_MS });
    await expect(backgroundOf(page, '#zone-grid .zone[data-level="CRITICAL"]')).resolves.toBe(CRITICAL_BACKGROUND);
    await expect(critical.first().locator('.zone-level').textContent()).resolves.toBe('CRITICAL');
    await expect(
      backgroundOf(page, '#zone-grid .zone[data-level="NORMAL"]'),
    ).resolves.toBe(NORMAL_BACKGROUND);
    const criticalZone = await critical.first().getAttribute('data-zone');
    await expect(page.locator(`#active-alerts tbody tr[data-zone="${criticalZone}"][data-level="CRITICAL"]`).count()).resolves.toBe(1);
    await expect(page.locator('#recent-alerts tbody tr').count()).resolves.toBeGreaterThanOrEqual(2);
    await expect(page.title()).resolves.toMatch(/^\(1 CRITICAL\b/);

    // The rest of the page has its figures: quarantine reasons, silent sensors, latency, chart.
    await expect(page.locator('#quarantine tbody tr').count()).resolves.toBeGreaterThan(0);
    await page.locator('#silent tbody tr').first().waitFor({ timeout: WAIT_MS }); // silent for > 3 periods
    await expect(page.locator('#latency-end-to-end dd').nth(1).textContent()).resolves.toMatch(/^\d+\.\d+ s$/);
    await expect(page.locator('#rates-chart canvas').count()).resolves.toBe(1);

    // fake.ts's rush-hour wave, so that the screenshot shows all three levels.
    await page.locator('#zone-grid .zone[data-level="WARNING"]').first().waitFor({ timeout: WAIT_MS });
    mkdirSync(resolve('reports'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('lays zones out by latitude and longitude, north at the top, without overlap when off the grid', async () => {
    const onGrid = await startDashboard({ port: 0, snapshot: createFakeSimulation({ zones: 16 }) });
    dashboards.push(onGrid);
    const { page, errors } = await openPage(onGrid.url);
    const box = async (zoneId: string) => (await page.locator(`#zone-grid .zone[data-zone="${zoneId}"]`).boundingBox())!;
    // fake.ts: Z01 is the north-west corner, Z02 east of it, Z05 south of it.
    expect((await box('Z02')).x).toBeGreaterThan((await box('Z01')).x);
    expect((await box('Z05')).y).toBeGreaterThan((await box('Z01')).y);

    const fake = createFakeSimulation({ zones: 30 });
    const scattered = await startDashboard({
      port: 0,
      snapshot: () => {
        const s = fake();
        // Irregular centres: every zone its own latitude and longitude.
        return { ...s, zones: s.zones.map((z, i) => ({ ...z, lat: z.lat + Math.sin(i * 7.3) * 0.004, lon: z.lon + Math.cos(i * 3.1) * 0.004 })) };
      },
    });
    dashboards.push(scattered);
    await page.goto(scattered.url);
    await page.waitForFunction(() => Number(document.body.dataset.polls) >= 1, undefined, { timeout: WAIT_MS });
    const boxes = await Promise.all((await page.locator('#zone-grid .zone').all()).map(async (cell) => (await cell.boundingBox())!));
    expect(boxes).toHaveLength(30);
    const overlapping = boxes.flatMap((a, i) =>
      boxes.slice(i + 1).filter((b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height),
    );
    expect(overlapping).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('says so when the simulator stops answering', async () => {
    const dashboard = await startDashboard({ port: 0, snapshot: createFakeSimulation() });
    dashboards.push(dashboard);
    const { page } = await openPage(dashboard.url);
    await expect(page.locator('#connection').getAttribute('data-state')).resolves.toBe('live');
    await dashboard.close();
    await page.locator('#connection[data-state="down"]').waitFor({ timeout: WAIT_MS });
    await expect(page.locator('#connection').textContent()).resolves.toMatch(/not answering/);
  });

  it('shows zone ids and reasons as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.__injected=1">';
    const fake = createFakeSimulation({ zones: 4, alertAfterMs: 0, zoneIds: [hostile, 'Z&amp;2', 'Z3', 'Z4'] });
    const dashboard = await startDashboard({
      port: 0,
      snapshot: () => {
        const s = fake();
        return { ...s, quarantinedByReason: { ...s.quarantinedByReason, '<b>bold</b> reason': 3 } };
      },
    });
    dashboards.push(dashboard);
    const { page, errors } = await openPage(dashboard.url);
    await expect(page.locator('#zone-grid .zone-id').allTextContents()).resolves.toEqual(
      expect.arrayContaining([hostile, 'Z&amp;2']),
    );
    await expect(page.locator('#quarantine td.reason', { hasText: '<b>bold</b> reason' }).count()).resolves.toBe(1);
    await expect(page.locator('main img, main b').count()).resolves.toBe(0);
    await expect(page.evaluate(() => window.__injected)).resolves.toBeUndefined();
    expect(errors).toEqual([]);
  });
});
