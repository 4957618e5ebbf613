/** Building blocks shared by the layers: tags, retention, policy documents. */
import type { DeletionPolicy, IntrinsicFunction, ResourceBase, ResourceTag } from 'cloudform-types';
import type Output from 'cloudform-types/types/output';
import './cfn-extensions';
import type { StackConfig } from './config';
import { ifCondition, sub } from './intrinsics';
import type { LogicalIdName } from './names';
import { Cond, Param, param } from './parameters';

/** What each layer contributes to the template. */
export interface Layer {
  resources: Partial<Record<LogicalIdName, ResourceBase>>;
  outputs?: Record<string, Output>;
}

/** Project and Environment tags, on every taggable resource. */
export function tags(config: StackConfig, extra: Record<string, string> = {}): ResourceTag[] {
  return [
    { Key: 'Project', Value: config.project },
    { Key: 'Environment', Value: param(Param.EnvironmentSuffix) },
    ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value })),
  ];
}


/**
 * Data stores keep their data on stack deletion and on replacement, unless the stack is a
 * throwaway environment. Fn::If in these attributes needs the AWS::LanguageExtensions transform.
 */
export function retainUnlessThrowaway<T extends ResourceBase>(resource: T): T {
  const policy = ifCondition(Cond.IsThrowaway, 'Delete', 'Retain');
  // cloudform-types types DeletionPolicy as a plain enum; the transform allows an intrinsic here.
  resource.DeletionPolicy = policy as unknown as DeletionPolicy;
  resource.UpdateReplacePolicy = policy;
  return resource;
}

/** An output exported as `<stack name>-<key>`. */
export function exported(description: string, value: unknown, key: string): Output {
  return { Description: description, Value: value, Export: { Name: sub(`\${AWS::StackName}-${key}`) } };
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export const policyDocument = (...Statement: PolicyStatement[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement,
});

export const allow = (Sid: string, Action: string[], Resource: unknown, Condition?: PolicyStatement['Condition']): PolicyStatement => ({
  Sid,
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

/** Deny every request to a resource that does not come over TLS. */
export function denyInsecureTransport(action: string | string[], resource: unknown): PolicyStatement {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: action,
    Resource: resource,
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/**
 * The trust policy of a role assumed by one AWS service. Pass a condition (confused-deputy
 * protection) where the service documents one for role assumption.
 */
export function assumedBy(service: string, Condition?: PolicyStatement['Condition']): PolicyDocument {
  return policyDocument({
    Effect: 'Allow',
    Principal: { Service: service },
    Action: 'sts:AssumeRole',
    ...(Condition ? { Condition } : {}),
  });
}

/** `arn:${Partition}:<service>:<region>:<account>:<resource>`. */
export const arn = (service: string, resource: string): IntrinsicFunction =>
  sub(`arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`);

