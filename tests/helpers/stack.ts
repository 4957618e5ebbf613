/** CreateStack into moto for tests: the logic lives in scripts/lib/moto-stack.ts (the simulator uses it too). */
export * from '../../scripts/lib/moto-stack';
