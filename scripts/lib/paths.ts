/** Where things are in the repository. */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
export const REPORTS = join(ROOT, 'reports');
export const TEMPLATE_PATH = join(ROOT, 'templates', 'TapStack.yml');
