import { describe, expect, it } from 'vitest';
import { deployedPageConfig } from '../../../../scripts/lib/console-config';

describe('the console page config', () => {
  it('refuses to write a config for a stack without the console', () => {
    expect(() => deployedPageConfig('prod', 'eu-west-1', {})).toThrow(/no ConsoleAuthDomain output/);
  });
});
