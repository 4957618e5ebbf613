/** moto_server for tests: the start/stop logic lives in scripts/lib/moto.ts (the simulator uses it too). */
export * from '../../scripts/lib/moto';
