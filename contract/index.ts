/** The contract shared by the template (template/), the processor (handlers/), the scripts and the tests. */
export * from './env';
export * from './names';
export * from './metrics';
export * from './reading';
export * from './health';
export * from './console';
export * from './outputs';
