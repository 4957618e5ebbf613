import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, validateConfig, type StackConfig } from '../../template/config';

const withParams = (p: Partial<StackConfig['parameters']>): StackConfig => ({
  ...DEFAULTS,
  parameters: { ...DEFAULTS.parameters, ...p },
});

describe('validateConfig', () => {
  it('accepts the defaults', () => {
    expect(validateConfig(DEFAULTS)).toBe(DEFAULTS);
  });

  it('lists every problem in one error, with the value and the allowed range', () => {
    const bad = withParams({ kinesisShardCount: 0, criticalThreshold: 75, environmentSuffix: 'Prod', logRetentionDays: 10 });
    expect(() => validateConfig(bad)).toThrow(ConfigError);
    const message = (() => {
      try {
        validateConfig(bad);
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toContain('kinesisShardCount: got 0, expected an integer from 1 to 500');
    expect(message).toContain('criticalThreshold: got 75, expected above warningThreshold (80)');
    expect(message).toContain("environmentSuffix: got 'Prod'");
    expect(message).toContain('logRetentionDays: got 10, expected one of 1, 3, 5');
  });

  it('requires reserved concurrency for every shard × parallelization', () => {
    expect(() => validateConfig(withParams({ kinesisShardCount: 100 }))).toThrow(/processorReservedConcurrency: got 150, expected at least .* = 200/);
  });

  it('keeps the batching window inside the alert target', () => {
    expect(() => validateConfig(withParams({ batchingWindowSeconds: 30 }))).toThrow(/batchingWindowSeconds: got 30/);
  });
});
