import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../../scripts/lib/ops';

describe('parseDuration', () => {
  it('reads durations with their unit, and names the flag otherwise', () => {
    expect(parseDuration('q', 'purge-older-than', '90s')).toBe(90_000);
    expect(parseDuration('q', 'purge-older-than', '7d')).toBe(7 * 86_400_000);
    expect(() => parseDuration('q', 'purge-older-than', '-1d')).toThrow("q: --purge-older-than takes a duration such as 90s, 30m, 12h or 7d, got '-1d'");
    expect(() => parseDuration('q', 'purge-older-than', '7')).toThrow('takes a duration');
  });
});
