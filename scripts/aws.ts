/** AWS access for the scripts: region, an endpoint override for emulators, and a credential check. */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';

export class DeployError extends Error {
  override name = 'DeployError';
}

export interface AwsTarget {
  region: string;
  /** AWS_ENDPOINT_URL, when the scripts talk to an emulator such as moto. */
  endpoint?: string;
}

export function awsTarget(regionFlag?: string): AwsTarget {
  const region = regionFlag ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  return endpoint ? { region, endpoint } : { region };
}

/** One clear line when no credentials are configured, before anything is uploaded. */
export async function assertCredentials(): Promise<void> {
  try {
    await fromNodeProviderChain()();
  } catch {
    throw new DeployError(
      'No AWS credentials found: configure a profile (aws configure, AWS_PROFILE) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    );
  }
}
