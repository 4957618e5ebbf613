/**
 * AWS access for the scripts: the region and credentials resolved as the SDK and the AWS CLI
 * resolve them (and where each came from), an endpoint override for emulators, client settings,
 * and the errors the scripts report in one line.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
// The SDK's own region loader: AWS_REGION, then `region` of the profile (AWS_PROFILE, default
// `default`) in the config file (AWS_CONFIG_FILE, default ~/.aws/config). @smithy/core is what every
// SDK v3 client resolves its region with.
import { loadConfig, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
// The SDK's partition table (regions and the partition each belongs to), the one every client
// resolves endpoints from: `partition(region)` gives a known region its description.
import { partition } from '@aws-sdk/core/client';
import { CliError, UsageError } from './cli';

/** A deploy (or another AWS step) cannot go on: the message says why and what to do. */
export class DeployError extends CliError {
  override name = 'DeployError';
}

/** An S3 bucket that is missing, refused or unreachable. */
export class BucketError extends DeployError {
  override name = 'BucketError';
}

export interface AwsTarget {
  region: string;
  /** AWS_ENDPOINT_URL, when the scripts talk to an emulator such as moto. */
  endpoint?: string;
  /** Where the region came from: the flag, an environment variable or the profile's config file. */
  regionSource?: string;
}

export const PROFILE = () => process.env.AWS_PROFILE || process.env.AWS_DEFAULT_PROFILE || 'default';

/**
 * The region, in the order the AWS CLI and the SDK use: `--region`, AWS_REGION (SDK, CLI v2),
 * AWS_DEFAULT_REGION (CLI), then `region` of the active profile in the config file. No default:
 * like the SDK ("Region is missing") and the CLI ("You must specify a region"), a missing region is
 * an error, so a deploy never lands in us-east-1 by accident.
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html
 */
export async function resolveRegion(regionFlag?: string, env: NodeJS.ProcessEnv = process.env): Promise<{ region: string; source: string }> {
  const found = await regionAndSource(regionFlag, env);
  assertKnownRegion(found.region, found.source === '--region' ? '--region' : `the region '${found.region}' (from ${found.source})`);
  return found;
}

/** Region name shapes of the SDK's partitions (aws, aws-cn, aws-us-gov, the ISO and sovereign partitions). */
const REGION_PREFIXES = ['us', 'eu', 'ap', 'sa', 'ca', 'me', 'af', 'il', 'mx', 'cn', 'us-gov', 'us-iso', 'us-isob', 'us-isof', 'eu-isoe', 'eusc-de'];
const REGION_DIRECTIONS = ['east', 'west', 'north', 'south', 'central', 'northeast', 'northwest', 'southeast', 'southwest'];

/** True for a region the SDK's partition table lists (only those have a description). */
export const isKnownRegion = (region: string): boolean => (partition(region) as { description?: string }).description !== undefined;

/** The regions the SDK knows, for error messages: every <prefix>-<direction>-<n> its partition table lists. */
export function knownRegions(): string[] {
  const regions: string[] = [];
  for (const prefix of REGION_PREFIXES)
    for (const direction of REGION_DIRECTIONS)
      for (let n = 1; n <= 9; n++) if (isKnownRegion(`${prefix}-${direction}-${n}`)) regions.push(`${prefix}-${direction}-${n}`);
  return regions;
}

/**
 * A region the SDK does not know (a typo such as us-east-9) is refused before any call: the SDK would
 * build an endpoint for it that does not exist (a DNS error), an emulator would answer with an error page.
 */
export function assertKnownRegion(region: string, what: string): void {
  if (isKnownRegion(region)) return;
  throw new UsageError(`${what === '--region' ? `--region '${region}'` : what} is not an AWS region the SDK knows; allowed: ${knownRegions().join(', ')}`);
}

async function regionAndSource(regionFlag: string | undefined, env: NodeJS.ProcessEnv): Promise<{ region: string; source: string }> {
  if (regionFlag) return { region: regionFlag, source: '--region' };
  if (env.AWS_REGION) return { region: env.AWS_REGION, source: 'AWS_REGION' };
  if (env.AWS_DEFAULT_REGION) return { region: env.AWS_DEFAULT_REGION, source: 'AWS_DEFAULT_REGION' };
  let fromProfile: string | undefined;
  try {
    fromProfile = await loadConfig<string | undefined>({
      environmentVariableSelector: () => undefined,
      configFileSelector: NODE_REGION_CONFIG_OPTIONS.configFileSelector,
      default: () => undefined,
    })();
  } catch {
    fromProfile = undefined;
  }
  if (fromProfile) return { region: fromProfile, source: `profile ${PROFILE()} (${env.AWS_CONFIG_FILE ?? '~/.aws/config'})` };
  throw new DeployError(
    `No AWS region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or set one for profile ${PROFILE()} (aws configure set region <region>)`,
  );
}

/** Region and endpoint for the scripts' SDK clients. */
export async function resolveTarget(regionFlag?: string): Promise<AwsTarget> {
  const { region, source } = await resolveRegion(regionFlag);
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  return { region, regionSource: source, ...(endpoint ? { endpoint } : {}) };
}

/** Synchronous target (flag or environment only, us-east-1 otherwise); prefer resolveTarget. */
export function awsTarget(regionFlag?: string): AwsTarget {
  const region = regionFlag ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  assertKnownRegion(region, regionFlag ? '--region' : `the region '${region}' (from ${process.env.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION'})`);
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  return endpoint ? { region, endpoint } : { region };
}

/** SDK client settings for a target: region, endpoint, and HTTP/1.1 (emulators reject the SDK's HTTP/2 for Kinesis). */
export function clientConfig(target: AwsTarget, credentials?: AwsCredentialIdentity) {
  return {
    region: target.region,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    requestHandler: new NodeHttpHandler(),
  };
}

/** The provider of the credentials, from the feature flags the SDK's providers set on them. */
const CREDENTIAL_SOURCES: [string, string][] = [
  ['CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN', 'web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)'],
  ['CREDENTIALS_ENV_VARS', 'environment variables (AWS_ACCESS_KEY_ID)'],
  ['CREDENTIALS_PROFILE_SSO', 'IAM Identity Center (SSO) of profile {profile}'],
  ['CREDENTIALS_SSO', 'IAM Identity Center (SSO) of profile {profile}'],
  ['CREDENTIALS_PROFILE_SOURCE_PROFILE', 'a role assumed from profile {profile}'],
  ['CREDENTIALS_PROFILE_PROCESS', 'credential_process of profile {profile}'],
  ['CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN', 'web identity of profile {profile}'],
  ['CREDENTIALS_PROFILE_LOGIN', 'aws login of profile {profile}'],
  ['CREDENTIALS_PROFILE', 'profile {profile} (shared credentials/config file)'],
  ['CREDENTIALS_HTTP', 'container credentials (ECS/EKS)'],
  ['CREDENTIALS_IMDS', 'EC2 instance metadata'],
];

export function credentialSource(credentials: AwsCredentialIdentity): string {
  const features = Object.keys((credentials as { $source?: Record<string, string> }).$source ?? {});
  const hit = CREDENTIAL_SOURCES.find(([flag]) => features.includes(flag));
  return hit ? hit[1].replace('{profile}', PROFILE()) : 'the SDK default chain';
}

export interface ResolvedCredentials {
  credentials: AwsCredentialIdentity;
  source: string;
}

/** Credentials from the SDK's default chain (what the AWS CLI uses too), or one clear line when there are none. */
export async function resolveCredentials(): Promise<ResolvedCredentials> {
  try {
    const credentials = await fromNodeProviderChain()();
    return { credentials, source: credentialSource(credentials) };
  } catch (error) {
    throw new DeployError(
      'No AWS credentials found: configure a profile (aws configure, AWS_PROFILE) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      { cause: error },
    );
  }
}

/** One clear line when no credentials are configured, before anything is uploaded. */
export async function assertCredentials(): Promise<void> {
  await resolveCredentials();
}

/** The access key id with its middle hidden: enough to tell two identities apart. */
export const maskedKeyId = (id: string): string => (id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : '…');

/**
 * S3 general purpose bucket naming rules
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3–63 characters;
 * lowercase letters, digits, dots and hyphens; begins and ends with a letter or digit; no two
 * adjacent dots; not an IP address; not starting with `xn--`, `sthree-` or `amzn-s3-demo-`; not
 * ending with `-s3alias`, `--ol-s3`, `.mrap`, `--x-s3` or `--table-s3`. Answers the rules broken.
 */
export function bucketNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length < 3 || name.length > 63) problems.push(`is ${name.length} characters (3-63 allowed)`);
  if (!/^[a-z0-9.-]*$/.test(name)) problems.push('may hold only lowercase letters, digits, dots and hyphens');
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) problems.push('must begin and end with a letter or digit');
  if (name.includes('..')) problems.push('must not hold two adjacent dots');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push('must not be an IP address');
  for (const prefix of ['xn--', 'sthree-', 'amzn-s3-demo-']) if (name.startsWith(prefix)) problems.push(`must not start with ${prefix}`);
  for (const suffix of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) if (name.endsWith(suffix)) problems.push(`must not end with ${suffix}`);
  return problems;
}

export function assertBucketName(flag: string, name: string): void {
  const problems = bucketNameProblems(name);
  if (problems.length > 0) {
    throw new BucketError(
      `${flag} '${name}' is not a name S3 accepts: it ${problems.join('; it ')} (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)`,
    );
  }
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Network failures (no HTTP answer at all): connection refused, DNS, timeouts, TLS. */
export function isNetworkError(error: unknown): boolean {
  const e = error as SdkErrorShape & { cause?: SdkErrorShape };
  const codes = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'CERT_HAS_EXPIRED'];
  return e?.$metadata?.httpStatusCode === undefined && (codes.includes(e?.code ?? '') || codes.includes(e?.name ?? '') || codes.includes(e?.cause?.code ?? ''));
}

/** What a HeadBucket failure means, as one line: only a 404 is "not found". */
export function bucketErrorLine(bucket: string, region: string, error: unknown, endpoint?: string): string {
  const e = error as SdkErrorShape;
  const status = e?.$metadata?.httpStatusCode;
  if (status === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchBucket') {
    return `Bucket ${bucket} not found in ${region}: create it (aws s3 mb s3://${bucket} --region ${region}) or pass another --bucket`;
  }
  if (status === 403) return `Bucket ${bucket} exists but these credentials may not use it (403 Forbidden): check the bucket policy and your IAM permissions`;
  if (status === 301) return `Bucket ${bucket} is in another region than ${region} (301): pass --region with the bucket's region`;
  if (isNetworkError(error) || status === undefined) {
    return `Could not reach S3${endpoint ? ` at ${endpoint}` : ` in ${region}`} to check bucket ${bucket} (network error: ${e?.code ?? e?.name ?? 'unknown'} ${e?.message ?? ''}`.trimEnd() + ')';
  }
  return `Bucket ${bucket}: S3 answered ${status} ${e?.name ?? ''}: ${e?.message ?? ''}`.trim();
}
