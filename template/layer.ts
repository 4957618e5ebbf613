/** What each layer of the template contributes, and the helpers every layer uses for it. */
import type { ResourceBase } from 'cloudform-types';
import type Output from 'cloudform-types/types/output';
import './cfn-extensions';
import type { AlarmSpec } from './alarms';
import { sub } from './intrinsics';
import type { LogicalIdName } from './names';

export interface Layer {
  resources: Partial<Record<LogicalIdName, ResourceBase>>;
  outputs?: Record<string, Output>;
  /** Alarms on this layer's resources; the monitoring layer builds them and puts them on the dashboard. */
  alarms?: AlarmSpec[];
}

/** An output exported as `<stack name>-<key>`. */
export function exported(description: string, value: unknown, key: string): Output {
  return { Description: description, Value: value, Export: { Name: sub(`\${AWS::StackName}-${key}`) } };
}
