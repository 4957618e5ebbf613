import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildTemplate } from '../../template/index';
import { toYaml } from '../../template/serialize';
import { TEMPLATE_PATH } from '../helpers/template';

describe('templates/TapStack.yml', () => {
  it('is exactly what the builders generate (regenerate with npm run build:template)', () => {
    expect(toYaml(buildTemplate())).toBe(readFileSync(TEMPLATE_PATH, 'utf8'));
  });

  it('is deterministic byte for byte', () => {
    expect(toYaml(buildTemplate())).toBe(toYaml(buildTemplate()));
  });

  it('uses long-form intrinsics and no YAML anchors or tags', () => {
    const yaml = readFileSync(TEMPLATE_PATH, 'utf8');
    expect(yaml).not.toMatch(/^\s*[^#\n]*[&*][A-Za-z0-9_]+\s*$/m);
    expect(yaml).not.toMatch(/ !(Ref|Sub|GetAtt|If)\b/);
  });
});
