/** A processor configuration for unit tests, read through the same code as in Lambda. */
import { readConfig, type ProcessorConfig } from '../../handlers/processor/config';
import { EXAMPLE_RESOURCES, processorEnv } from '../../scripts/lib/processor-env';
import { ENV } from '../../contract';

export const TEST_CONFIG: ProcessorConfig = readConfig(processorEnv(EXAMPLE_RESOURCES, { [ENV.alertCooldownSeconds]: '300' }));
