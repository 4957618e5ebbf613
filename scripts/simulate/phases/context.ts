/**
 * What every phase of a simulation (run.ts `simulate()`) is handed: the options, where lines for
 * the operator go, the environment suffix, the run's work directory, and the teardown list a phase
 * registers each thing it starts on as soon as it has started it, so that a failure in any later
 * phase still stops it (by PID, in reverse order of starting).
 */
import type { SimulationOptions } from '../run';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Teardowns run last-registered first; one that throws does not keep the rest from running. */
export class Teardown {
  private readonly steps: (() => Promise<void> | void)[] = [];

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // keep stopping the rest
      }
    }
  }
}

export interface PhaseContext {
  options: SimulationOptions;
  print: (line: string) => void;
  environment: string;
  workDir: string;
  teardown: Teardown;
}
