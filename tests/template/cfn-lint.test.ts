import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { TEMPLATE_PATH } from '../helpers/template';

const cfnLint = (...args: string[]) => {
  const run = spawnSync('cfn-lint', [...args, '--', TEMPLATE_PATH], { encoding: 'utf8' });
  if (run.error) throw new Error('cfn-lint was not found: install it with `python3 -m pip install cfn-lint` (bash .ci/run does this)');
  return run;
};

describe('cfn-lint', () => {
  it('reports 0 errors and 0 warnings on templates/TapStack.yml', () => {
    const run = cfnLint();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('reports no informational finding either (--include-checks I: e.g. I3011, a stateful resource without DeletionPolicy)', () => {
    const run = cfnLint('--include-checks', 'I');
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
