/**
 * The simulator's moto: one process for every service, or (the default) two, the second answering
 * DynamoDB only. moto is one Python process whose requests share one interpreter lock, so it uses
 * at most one core; the stack's DynamoDB calls (the processor's window writes, alert state and
 * status items, the console's reads, the books' reads) are most of its work, and with one process
 * they queue behind Kinesis, SQS and EventBridge requests and share one core with them.
 *
 * With two processes the template is deployed by CreateStack into both, with the same parameters
 * and the same code object: the second process's tables are the stack's own (the names, keys,
 * indexes, TTL and billing CreateStack makes from the template), and every DynamoDB client of the
 * pipeline is pointed at it: the function containers (processor, detector, console API) through the
 * SDK's service-specific endpoint variable AWS_ENDPOINT_URL_DYNAMODB, which overrides
 * AWS_ENDPOINT_URL for DynamoDB only
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html, identifier
 * `DynamoDB`: https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html), the
 * simulator's own books, and env.sh for the AWS CLI. The first process's copies of the tables exist
 * (its CreateStack made them) and stay empty. Nothing in the template couples DynamoDB to another
 * service inside moto (no DynamoDB stream, no Kinesis streaming destination), so splitting them
 * changes no answer; what it changes is how much CPU moto can use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto, type Moto } from '../lib/moto';
import { deployToMoto, type DeployedStack } from '../lib/moto-stack';

export const MOTO_PROCESS_COUNTS = [1, 2] as const;
export type MotoProcesses = (typeof MOTO_PROCESS_COUNTS)[number];

export interface SimMoto {
  /** Every service (DynamoDB too with one process): the endpoint of AWS_ENDPOINT_URL. */
  main: Moto;
  /** The process answering DynamoDB: the second one, or `main`. */
  dynamodb: Moto;
  processes: MotoProcesses;
  /** What a function's container gets to reach the local AWS: AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_DYNAMODB with two processes. */
  endpointEnv: Record<string, string>;
  pids: number[];
  /** CreateStack of the template into each process, with the same parameters and code; the first process's stack is answered. */
  deploy(stackName: string, parameters: Record<string, string>, code: { bucket: string; key: string; body: Buffer }): Promise<DeployedStack>;
  stop(): Promise<void>;
  /** Where moto's time went, by API call, over both processes (read after stop): wall time, and the CPU the calls' threads used. */
  timeByCall(): Record<string, { calls: number; seconds: number; cpuSeconds?: number }>;
}

/** The launcher (moto_server_fast.py), writing its time per call to `stats` when stopped. */
const launcher = (stats: string) => ({
  command: 'python3',
  args: [join(import.meta.dirname, 'moto_server_fast.py')],
  env: { SIM_MOTO_STATS: stats },
  detached: true,
});

export async function startSimMoto(workDir: string, processes: MotoProcesses, onStarted: (pid: number) => void = () => undefined): Promise<SimMoto> {
  const stats = [join(workDir, 'moto-stats.json'), join(workDir, 'moto-dynamodb-stats.json')].slice(0, processes);
  const started = await Promise.allSettled(stats.map((file) => startMoto(30_000, launcher(file))));
  const motos = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  for (const m of motos) onStarted(m.pid);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(motos.map((m) => m.stop()));
    throw failed.reason;
  }
  const main = motos[0]!;
  const dynamodb = motos[1] ?? main;
  return {
    main,
    dynamodb,
    processes,
    endpointEnv: { AWS_ENDPOINT_URL: main.endpoint, ...(dynamodb === main ? {} : { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint }) },
    pids: motos.map((m) => m.pid),
    async deploy(stackName, parameters, code) {
      const [deployed] = await Promise.all(motos.map((m) => deployToMoto(m.endpoint, stackName, parameters, code)));
      return deployed!;
    },
    stop: async () => {
      await Promise.all(motos.map((m) => m.stop()));
    },
    timeByCall() {
      const merged: Record<string, { calls: number; seconds: number; cpuSeconds: number }> = {};
      const sum = (a: number, b = 0) => Math.round((a + b) * 1000) / 1000;
      for (const file of stats) {
        if (!existsSync(file)) continue;
        for (const [call, v] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, { calls: number; seconds: number; cpuSeconds?: number }>)) {
          const entry = (merged[call] ??= { calls: 0, seconds: 0, cpuSeconds: 0 });
          entry.calls += v.calls;
          entry.seconds = sum(entry.seconds, v.seconds);
          entry.cpuSeconds = sum(entry.cpuSeconds, v.cpuSeconds);
        }
      }
      return Object.fromEntries(Object.entries(merged).sort((a, b) => b[1].seconds - a[1].seconds));
    },
  };
}
