/** A processor configuration for unit tests, read through the same code as in Lambda. */
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { processorEnv } from '../../scripts/lib/processor-env';
import { ENV } from '../../contract';

export const TEST_CONFIG: ProcessorConfig = readConfig(processorEnv(undefined, { overrides: { [ENV.alertCooldownSeconds]: '300' } }));
