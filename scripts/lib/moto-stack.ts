/** Deploys templates/TapStack.yml into moto with CreateStack, the closest thing to a real deploy here. */
import { readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { dump, load } from 'js-yaml';
import { motoClientConfig } from './moto';
import { TEMPLATE_PATH } from './paths';

/** The smallest valid zip (an empty central directory): enough for CreateFunction. */
export const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)]);

/**
 * Resource types moto's CreateStack skips whose attributes the template's outputs name: moto
 * validates every output against the types it models and fails the whole stack on such an output.
 */
export const MOTO_UNMODELED_OUTPUT_TYPES = ['AWS::CloudFront::Distribution'] as const;

/**
 * The template as moto can create it: the outputs that name an attribute of a type moto skips are
 * left out (the template tests assert them); everything else is the committed template.
 */
export function motoTemplateBody(): string {
  const template = load(readFileSync(TEMPLATE_PATH, 'utf8')) as { Resources: Record<string, { Type: string }>; Outputs?: Record<string, unknown> };
  const skipped = Object.entries(template.Resources)
    .filter(([, r]) => (MOTO_UNMODELED_OUTPUT_TYPES as readonly string[]).includes(r.Type))
    .map(([id]) => id);
  for (const [key, output] of Object.entries(template.Outputs ?? {})) {
    const text = JSON.stringify(output);
    if (skipped.some((id) => text.includes(`"${id}",`) || text.includes(`\${${id}.`))) delete template.Outputs![key];
  }
  return dump(template, { lineWidth: -1, noRefs: true });
}

export interface DeployedStack {
  stack: Stack;
  outputs: Record<string, string>;
  /** Logical ID → physical ID of every resource moto created. */
  physicalIds: Record<string, string>;
}

export async function deployToMoto(
  endpoint: string,
  stackName: string,
  parameters: Record<string, string>,
  code: { bucket: string; key: string; body: Buffer } = { bucket: 'tapstack-code', key: 'processor-000000000000.zip', body: EMPTY_ZIP },
): Promise<DeployedStack> {
  const config = motoClientConfig(endpoint);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: code.bucket }));
  await s3.send(new PutObjectCommand({ Bucket: code.bucket, Key: code.key, Body: code.body }));

  const cfn = new CloudFormationClient(config);
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: motoTemplateBody(),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_AUTO_EXPAND'],
      Parameters: Object.entries({ LambdaCodeS3Bucket: code.bucket, LambdaCodeS3Key: code.key, ...parameters }).map(
        ([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }),
      ),
      Tags: [
        { Key: 'Project', Value: 'TapStack' },
        { Key: 'Environment', Value: parameters.EnvironmentSuffix ?? 'dev' },
      ],
    }),
  );
  const deadline = Date.now() + 120_000;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0]!;
    if (!stack.StackStatus!.endsWith('_IN_PROGRESS')) {
      if (stack.StackStatus !== 'CREATE_COMPLETE') {
        const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
        const lines = events.map((e) => `${e.LogicalResourceId} ${e.ResourceStatus} ${e.ResourceStatusReason ?? ''}`);
        throw new Error(`Stack ${stackName} ended ${stack.StackStatus}: ${stack.StackStatusReason ?? ''}\n${lines.join('\n')}`);
      }
      const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
      const resources = (await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources ?? [];
      const physicalIds = Object.fromEntries(resources.map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
      return { stack, outputs, physicalIds };
    }
    if (Date.now() > deadline) throw new Error(`Stack ${stackName} still ${stack.StackStatus} after 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
