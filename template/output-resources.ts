/**
 * The resources the processor's outputs create (contract/outputs.ts, `creates` on a binding), each
 * by the template/defaults.ts helper of its kind (encrypted with the stack key, its policy denying every
 * call without TLS), under its logical ID then `<id>Policy`, with its stack output. The processing
 * layer places them; the processor's environment and role take the same bindings (template/functions.ts).
 */
import type Output from 'cloudform-types/types/output';
import { PROCESSOR_OUTPUTS, type OutputBinding, type OutputDeclaration, type OwnResource } from '../contract';
import type { StackConfig } from './config';
import { encryptedQueue, encryptedTopic, type PolicedId, type TagConfig } from './defaults';
import { ref } from './intrinsics';
import { exported, type Layer } from './layer';

type OwnResourceConfig = TagConfig & Pick<StackConfig, 'queueRetentionSeconds'>;

/** One created resource and its policy, by the helper of its kind. */
function ownResource(config: OwnResourceConfig, id: PolicedId, spec: OwnResource): Layer['resources'] {
  switch (spec.kind) {
    case 'queue':
      return encryptedQueue(config, spec.name, id, spec.fifo ? { fifo: true } : {}).resources;
    case 'topic':
      return encryptedTopic(config, spec.name, spec.displayName, id).resources;
  }
}

/** Every resource the outputs create, in the order they are declared, and their stack outputs. */
export function outputResources(
  config: OwnResourceConfig,
  outputs: Record<string, OutputDeclaration> = PROCESSOR_OUTPUTS,
): { resources: Layer['resources']; outputs: Record<string, Output> } {
  const resources: Layer['resources'] = {};
  const stackOutputs: Record<string, Output> = {};
  for (const output of Object.values(outputs)) {
    for (const binding of Object.values(output.bindings) as OutputBinding[]) {
      if (!binding.creates) continue;
      // The registry lists every created ID and its policy's (OWN_RESOURCE_IDS in template/names.ts).
      const id = binding.resource as PolicedId;
      Object.assign(resources, ownResource(config, id, binding.creates));
      const { key, description } = binding.creates.stackOutput;
      stackOutputs[key] = exported(description, ref(id), key);
    }
  }
  return { resources, outputs: stackOutputs };
}
