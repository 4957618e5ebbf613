import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputsDir, writeOutputsFiles } from '../../../../scripts/lib/outputs';

describe('the stack outputs files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapstack-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one outputs file per stack plus the last deploy\'s copy, under the injectable directory', () => {
    expect(outputsDir(undefined, { TAPSTACK_OUTPUTS_DIR: dir })).toBe(dir);
    expect(outputsDir(join(dir, 'x'), { TAPSTACK_OUTPUTS_DIR: dir })).toBe(join(dir, 'x'));
    writeOutputsFiles(dir, 'tapstack-prod', { StreamName: 'tapstack-prod-readings' });
    const paths = writeOutputsFiles(dir, 'tapstack-dev', { StreamName: 'tapstack-dev-readings' });
    expect(paths).toEqual([join(dir, 'tapstack-dev.json'), join(dir, 'flat-outputs.json')]);
    expect(JSON.parse(readFileSync(join(dir, 'tapstack-prod.json'), 'utf8'))).toEqual({ StreamName: 'tapstack-prod-readings' });
  });
});
