/** Loads the committed template and walks it. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import type { TemplateDocument } from '../../template/index';

export const TEMPLATE_PATH = resolve(import.meta.dirname, '..', '..', 'templates', 'TapStack.yml');

export function committedTemplate(): TemplateDocument {
  return load(readFileSync(TEMPLATE_PATH, 'utf8')) as TemplateDocument;
}

/** Every node of a JSON tree, depth first, with its path. */
export function* walk(node: unknown, path: string[] = []): Generator<[unknown, string[]]> {
  yield [node, path];
  if (node && typeof node === 'object') {
    for (const [key, child] of Object.entries(node)) yield* walk(child, [...path, key]);
  }
}

/** Variables `${X}` / `${X.Attr}` of an Fn::Sub string (escaped `${!X}` excluded). */
export function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => m[1]!);
}

export function resourcesOfType(template: TemplateDocument, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}
