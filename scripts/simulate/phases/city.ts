/**
 * Phase 4, the city: its layout, a local PKI, a certificate per sensor and the IoT registry as
 * provisioning leaves it; the zones in moto; the traffic controllers' console on the stack.
 */
import { IoTClient } from '@aws-sdk/client-iot';
import { THING_LAYOUT } from '../../../template/layers/provisioning';
import { ensureZoneGroups } from '../../provision/iot';
import type { FleetSensor } from '../fleet';
import { startLocalConsole, type LocalConsole } from '../local-console';
import { createLocalPki, sensorIdentity } from '../pki';
import { LocalRegistry } from '../registry';
import { cityLayout } from '../traffic';
import type { PhaseContext } from './context';
import type { SimStack } from './stack';

export interface City {
  layout: ReturnType<typeof cityLayout>;
  pki: Awaited<ReturnType<typeof createLocalPki>>;
  /** The fleet's sensors with their keys and certificates. */
  identities: FleetSensor[];
  registry: LocalRegistry;
}

export async function buildCity({ options, print }: PhaseContext, { view, aws }: SimStack): Promise<City> {
  const layout = cityLayout(options.sensors, options.zones);
  const pki = await createLocalPki();
  const identities: FleetSensor[] = [];
  // The registry as provisioning leaves it (template/layers/provisioning.ts THING_LAYOUT) and npm run
  // deploy completes it (the sensor policy attached to the environment's sensor group).
  const registry = new LocalRegistry();
  registry.thingTypes.set(view.policy.thingTypeName, view.policy.propagatingAttributes);
  registry.policyGroups.add(view.policy.sensorGroup);
  registry.thingGroups.add(view.policy.sensorGroup);
  for (const s of layout.sensors) {
    const id = await sensorIdentity(pki, s.sensorId, s.zoneId, `${s.lat},${s.lon}`);
    identities.push({ ...s, keyPem: id.keyPem, certificatePem: id.certificatePem });
    registry.createThing(s.sensorId, {
      thingTypeName: view.policy.thingTypeName,
      attributes: { [THING_LAYOUT.attributes.zone]: s.zoneId, [THING_LAYOUT.attributes.location]: `${s.lat},${s.lon}` },
      groups: [s.zoneId, view.policy.sensorGroup],
    });
    registry.attach(s.sensorId, registry.registerCertificate(id.certificatePem, 'ACTIVE'));
  }
  print(`Local CA and ${identities.length} sensor things, each of type ${view.policy.thingTypeName} in ${view.policy.sensorGroup} with its certificate (CN = thing name).`);
  // The registry's zones in moto, as npm run provision makes them (a thing group per zone): the
  // health detector reads which zones to expect sensors in from them.
  await ensureZoneGroups(new IoTClient(aws), layout.zones.map((z) => ({ zoneId: z.zoneId, description: 'simulated zone' })), () => undefined);
  return { layout, pki, identities, registry };
}

/** The console's local server on the stack, registered for teardown. */
export async function startCityConsole({ environment, print, teardown }: PhaseContext, stack: SimStack, { layout }: City): Promise<LocalConsole> {
  const localConsole = await startLocalConsole({
    motoEndpoint: stack.moto.endpoint,
    endpointEnv: stack.motos.endpointEnv,
    physicalIds: stack.physicalIds,
    zipPath: stack.bundle.zipPath,
    environment,
    sensors: layout.sensors.map((s) => ({ sensorId: s.sensorId, zoneId: s.zoneId, lat: s.lat, lon: s.lon })),
    print,
  });
  teardown.add(() => localConsole.close());
  return localConsole;
}
