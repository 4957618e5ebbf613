/** config.ts: the processor's settings, read from its environment. */
import { describe, expect, it } from 'vitest';

describe('readConfig', () => {
  it('lists every missing or invalid variable in one error', async () => {
    const { readConfig } = await import('../../../../handlers/processor/config');
    expect(() => readConfig({ WARNING_THRESHOLD: '90', CRITICAL_THRESHOLD: 'high' })).toThrow(
      /TABLE_NAME is not set; .*CRITICAL_THRESHOLD: got "high", expected a number from 5 to 100/,
    );
  });
});
