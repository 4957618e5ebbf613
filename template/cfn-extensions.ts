/**
 * Properties newer than cloudform-types' resource specification (148, Nov 2023), added by typed
 * module augmentation so that builders stay checked. Each one is documented in the AWS
 * CloudFormation resource reference.
 */
import { ResourceBase, type IntrinsicFunction, type List, type ResourceTag, type Value } from 'cloudform-types';

export interface LoggingConfig {
  LogFormat?: Value<'JSON' | 'Text'>;
  ApplicationLogLevel?: Value<'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL'>;
  SystemLogLevel?: Value<'DEBUG' | 'INFO' | 'WARN'>;
  LogGroup?: Value<string>;
}

export interface WarmThroughput {
  ReadUnitsPerSecond?: Value<number>;
  WriteUnitsPerSecond?: Value<number>;
}

export type RetentionPolicy = 'Delete' | 'Retain' | 'Snapshot' | 'RetainExceptOnCreate';

declare module 'cloudform-types/types/lambda/function' {
  interface FunctionProperties {
    /** AWS::Lambda::Function LoggingConfig (Nov 2023). */
    LoggingConfig?: LoggingConfig;
  }
}

declare module 'cloudform-types/types/lambda/eventSourceMapping' {
  interface EventSourceMappingProperties {
    /** AWS::Lambda::EventSourceMapping Tags (2024). */
    Tags?: List<ResourceTag>;
  }
}

declare module 'cloudform-types/types/dynamoDb/table' {
  interface TableProperties {
    /** AWS::DynamoDB::Table WarmThroughput (Nov 2024). */
    WarmThroughput?: WarmThroughput | IntrinsicFunction;
  }
  interface GlobalSecondaryIndex {
    WarmThroughput?: WarmThroughput | IntrinsicFunction;
  }
}

declare module 'cloudform-types/types/cloudWatch/alarm' {
  interface AlarmProperties {
    /** AWS::CloudWatch::Alarm Tags (2024). */
    Tags?: List<ResourceTag>;
  }
}

declare module 'cloudform-types/types/resource' {
  interface ResourceBase {
    /** Resource attribute; with AWS::LanguageExtensions it may be an Fn::If. */
    UpdateReplacePolicy?: RetentionPolicy | IntrinsicFunction;
  }
}

declare module 'cloudform-types/types/events/rule' {
  interface RuleProperties {
    /** AWS::Events::Rule Tags (2024). */
    Tags?: List<ResourceTag>;
  }
}

/** AWS::IoT::ThingType PropagatingAttribute: a thing attribute or connection attribute sent as an MQTT 5 user property. */
export interface PropagatingAttribute {
  UserPropertyKey: Value<string>;
  ThingAttribute?: Value<string>;
  ConnectionAttribute?: Value<'iot:ClientId' | 'iot:Thing.ThingName'>;
}

declare module 'cloudform-types/types/iot/thingType' {
  // The nested ThingTypeProperties class and the resource's properties share this name, so both gain it.
  interface ThingTypeProperties {
    /**
     * AWS::IoT::ThingType ThingTypeProperties.Mqtt5Configuration (2024), message enrichment:
     * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-iot-thingtype-mqtt5configuration.html
     */
    Mqtt5Configuration?: { PropagatingAttributes?: List<PropagatingAttribute> };
  }
}

declare module 'cloudform-types/types/cognito/userPool' {
  interface UserPoolProperties {
    /**
     * AWS::Cognito::UserPool UserPoolTier (Nov 2024): the feature plan, LITE | ESSENTIALS | PLUS
     * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpool.html).
     */
    UserPoolTier?: Value<'LITE' | 'ESSENTIALS' | 'PLUS'>;
  }
}

declare module 'cloudform-types/types/cognito/userPoolDomain' {
  interface UserPoolDomainProperties {
    /**
     * AWS::Cognito::UserPoolDomain ManagedLoginVersion (Nov 2024): 1 is the classic hosted UI, 2 the
     * managed login pages (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cognito-userpooldomain.html).
     */
    ManagedLoginVersion?: Value<number>;
  }
}

/**
 * AWS::Kinesis::ResourcePolicy (2024), a resource type cloudform-types does not have: the
 * resource-based policy of a data stream
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kinesis-resourcepolicy.html).
 */
export interface KinesisResourcePolicyProperties {
  ResourceArn: Value<string>;
  ResourcePolicy: { [key: string]: unknown };
}
export class KinesisResourcePolicy extends ResourceBase<KinesisResourcePolicyProperties> {
  constructor(properties: KinesisResourcePolicyProperties) {
    super('AWS::Kinesis::ResourcePolicy', properties);
  }
}
