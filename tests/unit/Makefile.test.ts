import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/paths';

describe('Makefile', () => {
  const make = (...args: string[]) => spawnSync('make', ['-n', '--no-print-directory', ...args], { cwd: ROOT, encoding: 'utf8' });
  it('make deploy without ENV or BUCKET stops with one line naming the variable', () => {
    const noEnv = make('deploy');
    expect(noEnv.status).not.toBe(0);
    expect(noEnv.stderr).toContain('make deploy needs ENV=<environment>, e.g. make deploy ENV=dev');
    expect(make('deploy', 'ENV=dev').stderr).toContain('make deploy needs BUCKET=<artifact bucket>');
    expect(make('deploy', 'ENV=dev', 'BUCKET=b').stdout.trim()).toBe('npm run deploy -- --env dev --bucket b');
  });
  it('make plan passes SENSORS, HZ and ZONES through', () => {
    expect(make('plan', 'SENSORS=200000', 'HZ=2').stdout.trim()).toBe('npm run plan -- --sensors 200000 --hz 2');
    expect(make('plan').stdout.trim()).toBe('npm run plan -- --sensors 50000 --hz 1');
    expect(make('plan', 'ZONES=3').stdout.trim()).toBe('npm run plan -- --sensors 50000 --hz 1 --zones 3');
  });
  it('make clean leaves the stack outputs alone', () => {
    expect(make('clean').stdout).not.toContain('cfn-outputs');
  });
});
