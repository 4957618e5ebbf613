/**
 * The local pipeline as your own tools see it: a connection file (connection.json: the emulated
 * AWS endpoint, region and dummy credentials, the broker's address and port, the CA, a device's
 * certificate and key, its topic, the stack's outputs), the PEM files it names, an env.sh for the
 * AWS CLI and the npm run commands, and the commands that use them (mosquitto_pub, aws dynamodb
 * query, npm run quarantine). Everything is written with owner-only modes and removed when the
 * simulator stops (the CA, the broker and moto go with it).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exampleReading, READINGS_TABLE } from '../../contract';
import { owned } from './owned';

/** The dummy credentials and region every client of the local pipeline uses (moto accepts any). */
export const LOCAL_AWS = { region: 'us-east-1', accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

export interface ConnectionInput {
  /** Where to write; undefined: a new temporary directory. */
  out?: string;
  environment: string;
  awsEndpoint: string;
  /** DynamoDB's endpoint when a moto of its own answers it (moto-processes.ts). */
  dynamodbEndpoint?: string;
  broker: { host: string; port: number; mqttVersions: string[] };
  caPem: string;
  device: { thingName: string; zoneId: string; keyPem: string; certificatePem: string; inFleet: boolean };
  /** The topic a sensor publishes to, `+` for its thing name. */
  publishTopic: string;
  outputs: Record<string, string>;
}

export interface Connection {
  dir: string;
  file: string;
  /** Lines to print: what was written and the commands that use it. */
  lines: string[];
}

/** Single-quotes a word for a POSIX shell. */
const q = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

export function writeConnection(input: ConnectionInput): Connection {
  const created = input.out === undefined || !existsSync(resolve(input.out));
  const dir = input.out === undefined ? mkdtempSync(join(tmpdir(), 'tapstack-sim-local-')) : resolve(input.out);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { thingName } = input.device;
  const files = {
    connection: join(dir, 'connection.json'),
    env: join(dir, 'env.sh'),
    ca: join(dir, 'ca.pem'),
    cert: join(dir, `${thingName}.cert.pem`),
    key: join(dir, `${thingName}.private.key`),
  };
  // Removed at the end: the directory if this run made it, else only the files it wrote there.
  if (created) owned.path(dir);
  else for (const f of Object.values(files)) owned.path(f);

  const topic = input.publishTopic.replace('+', thingName);
  const table = input.outputs.ReadingsTableName ?? `tapstack-${input.environment}-readings`;
  writeFileSync(files.ca, input.caPem, { mode: 0o600 });
  writeFileSync(files.cert, input.device.certificatePem, { mode: 0o600 });
  writeFileSync(files.key, input.device.keyPem, { mode: 0o600 });
  writeFileSync(
    files.env,
    [
      '# The local pipeline of npm start (moto): source it, then use the AWS CLI and npm run as against AWS.',
      `export AWS_ENDPOINT_URL=${input.awsEndpoint}`,
      ...(input.dynamodbEndpoint && input.dynamodbEndpoint !== input.awsEndpoint ? [`export AWS_ENDPOINT_URL_DYNAMODB=${input.dynamodbEndpoint}`] : []),
      `export AWS_REGION=${LOCAL_AWS.region} AWS_DEFAULT_REGION=${LOCAL_AWS.region}`,
      `export AWS_ACCESS_KEY_ID=${LOCAL_AWS.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCAL_AWS.secretAccessKey}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const connection = {
    aws: { endpoint: input.awsEndpoint, dynamodbEndpoint: input.dynamodbEndpoint ?? input.awsEndpoint, region: LOCAL_AWS.region, accessKeyId: LOCAL_AWS.accessKeyId, secretAccessKey: LOCAL_AWS.secretAccessKey, stackName: `tapstack-${input.environment}` },
    mqtt: { host: input.broker.host, port: input.broker.port, tls: 'mutual', mqttVersions: input.broker.mqttVersions, caFile: files.ca },
    device: {
      thingName,
      clientId: thingName,
      zoneId: input.device.zoneId,
      inFleet: input.device.inFleet,
      certificateFile: files.cert,
      privateKeyFile: files.key,
      topic,
    },
    outputs: input.outputs,
  };
  writeFileSync(files.connection, `${JSON.stringify(connection, null, 2)}\n`, { mode: 0o600 });

  // The example reading's JSON, its timestamp left to the shell (`date`) when the command runs.
  const reading = JSON.stringify(exampleReading({ sensor_id: thingName, zone_id: input.device.zoneId, timestamp: '@NOW@' })).replace(
    '"@NOW@"',
    `"'"$(date -u +%Y-%m-%dT%H:%M:%S.000Z)"'"`,
  );
  const mqttVersion = input.broker.mqttVersions.includes('5') ? 'mqttv5' : 'mqttv311';
  return {
    dir,
    file: files.connection,
    lines: [
      `Local connection: ${files.connection} (AWS endpoint, region, dummy credentials, broker, CA, device ${thingName}${input.device.inFleet ? ', a sensor of the fleet: connecting with it takes its client id over' : ', outside the fleet'}); removed when the simulator stops.`,
      `  publish as ${thingName}:  mosquitto_pub -h ${input.broker.host} -p ${input.broker.port} -V ${mqttVersion} -q 1 -i ${thingName} --cafile ${files.ca} --cert ${files.cert} --key ${files.key} -t ${q(topic)} -m '${reading}'`,
      `  its rolled-up readings:  source ${files.env}; aws dynamodb query --table-name ${table} --key-condition-expression ${q(`${READINGS_TABLE.partitionKey} = :s`)} --expression-attribute-values ${q(`{":s":{"S":"${thingName}"}}`)}`,
      `  the quarantine:  source ${files.env}; npm run quarantine -- --env ${input.environment}`,
    ],
  };
}
