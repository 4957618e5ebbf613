/** Typed helpers for CloudFormation intrinsic functions, in their long form. */
import { Fn, IntrinsicFunction, Refs } from 'cloudform-types';

/** `Fn::Sub` with a single string (the short form cloudform's Fn.Sub does not produce). */
export function sub(template: string, vars?: Record<string, unknown>): IntrinsicFunction {
  return new IntrinsicFunction('Fn::Sub', vars ? [template, vars] : template);
}

export const ref = (logicalId: string): IntrinsicFunction => Fn.Ref(logicalId);
export const getAtt = (logicalId: string, attribute: string): IntrinsicFunction => Fn.GetAtt(logicalId, attribute);
export const arnOf = (logicalId: string): IntrinsicFunction => getAtt(logicalId, 'Arn');
/** `Fn::If` on a condition name; NoValue drops the property on the false branch by default. */
export const ifCondition = (condition: string, whenTrue: unknown, whenFalse: unknown = Refs.NoValue): IntrinsicFunction =>
  Fn.If(condition, whenTrue, whenFalse);
export const accountId = Refs.AccountId;
export const region = Refs.Region;
