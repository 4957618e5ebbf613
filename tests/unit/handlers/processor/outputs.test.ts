/**
 * The output registry (handlers/processor/outputs.ts): what derives from it stays complete, and
 * what it declares ships. A new output or client that breaks one of these fails here, not at run
 * time in Lambda or in a test that built its clients by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PROCESSOR_OUTPUTS } from '../../../../contract';
import { buildClients, CLIENTS, createClients, OUTPUTS, processorSinks, SDK_LOGGER_MIDDLEWARE, type ClientName } from '../../../../handlers/processor/outputs';
import { FakeAws } from '../../../doubles/fake-aws';
import { TEST_CONFIG } from '../../../helpers/processor-config';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const clientNames = Object.keys(CLIENTS) as ClientName[];
/** `entry` bundled in memory, for its metafile: every file it took in and what each imports. */
const bundled = (entry: string) =>
  build({ entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });

describe('the output registry (outputs.ts)', () => {
  it('ships the SDK package of every client as a runtime dependency, and that package makes the client', async () => {
    for (const name of clientNames) {
      const { package: sdkPackage } = CLIENTS[name];
      expect(pkg.dependencies, `${sdkPackage} (client ${name}) must be under dependencies in package.json`).toHaveProperty([sdkPackage]);
      const client = CLIENTS[name].create({ region: 'us-east-1' });
      const exported = (await import(sdkPackage)) as Record<string, unknown>;
      expect(exported[client.constructor.name], `${sdkPackage} exports ${client.constructor.name}`).toBe(client.constructor);
    }
  });

  it('uses every client it declares, and has the runtime side of every output of the contract (contract/outputs.ts), in its order', () => {
    const used = new Set(Object.values(OUTPUTS).flatMap((o) => o.clients));
    expect([...used].sort()).toEqual([...clientNames].sort());
    expect(Object.keys(OUTPUTS)).toEqual(Object.keys(PROCESSOR_OUTPUTS));
  });

  it('builds every client of the registry, each an SDK client of its package, in Lambda without the logger middleware', () => {
    const clients = createClients();
    expect(Object.keys(clients).sort()).toEqual([...clientNames].sort());
    for (const name of clientNames) {
      const client = clients[name];
      expect(client.constructor).toBe(CLIENTS[name].create({}).constructor);
      expect(client.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).toBe(false);
    }
    // The SDK adds it by default: its removal is what is tested above.
    expect(buildClients().dynamodb.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).toBe(true);
  });

  it('makes one sink per output', () => {
    expect(processorSinks(TEST_CONFIG, buildClients())).toHaveLength(Object.keys(OUTPUTS).length);
  });

  it('gives tests every client answered in memory (FakeAws.clients), typed as the SDK clients', async () => {
    const aws = new FakeAws();
    const clients = aws.clients();
    expect(Object.keys(clients).sort()).toEqual([...clientNames].sort());
    const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    await clients.eventbridge.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}', EventBusName: 'b' }] }));
    expect(aws.events).toHaveLength(1);
    expect(aws.calls).toEqual({ PutEvents: 1 });
  });

  it('keeps the batch handler (handler.ts) free of the registry and of every AWS SDK client: it takes sinks', async () => {
    const { metafile } = await bundled('handlers/processor/handler.ts');
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((i) => i.endsWith('handlers/processor/outputs.ts') || /@aws-sdk\/client-/.test(i))).toEqual([]);
  });

  it('lists under dependencies every package the Lambda bundle imports itself (the entry of npm run build:lambda)', async () => {
    const { metafile } = await bundled('handlers/processor/index.ts');
    // The packages the project's own files import (not those the packages import in turn).
    const imported = new Set<string>();
    for (const [file, input] of Object.entries(metafile.inputs)) {
      if (file.includes('node_modules/')) continue;
      for (const i of input.imports) {
        const at = i.path.lastIndexOf('node_modules/');
        if (at < 0 || i.external) continue;
        const parts = i.path.slice(at + 'node_modules/'.length).split('/');
        imported.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      }
    }
    expect([...imported].length).toBeGreaterThan(5);
    const missing = [...imported].filter((name) => !(name in pkg.dependencies)).sort();
    expect(missing, 'packages the bundle imports that package.json lists only under devDependencies (or not at all)').toEqual([]);
  });
});
