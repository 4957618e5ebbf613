/** Asking the operator before a destructive step: on a terminal, or not at all (then --yes is needed). */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../cli';

export type Confirm = (question: string) => Promise<boolean>;

/**
 * The confirmation a command uses: `--yes` answers every question yes; otherwise the question is
 * asked on the terminal; with no terminal (a pipe, CI) the command refuses before changing anything.
 */
export function terminalConfirm(command: string, yes: boolean, isTTY: boolean = process.stdin.isTTY === true): Confirm {
  if (yes) return async () => true;
  if (!isTTY) {
    throw new UsageError(`${command}: no terminal to confirm on: run it in a terminal, or pass --yes to confirm every step`);
  }
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  };
}
