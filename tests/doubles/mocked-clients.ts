/**
 * The processor's clients (outputs.ts buildClients: every client of the registry) for tests that
 * stub some SDK client classes with aws-sdk-client-mock: a client of a stubbed class answers as the
 * test's stubs say; any other client of the registry (a new output's) answers every call with an
 * empty success instead of calling AWS. So a new output neither sends these tests to the network
 * nor needs an edit in each of them: its own sink test says what it must send.
 */
import { buildClients, type Clients } from '../../handlers/processor/outputs';

/** A client class stubbed with aws-sdk-client-mock's mockClient. */
// Any constructor: `instanceof` is all that is asked of it.
type ClientClass = abstract new (...args: any[]) => object;

export function clientsStubbing(stubbed: readonly ClientClass[]): Clients {
  return buildClients(undefined, (client) =>
    stubbed.some((c) => client instanceof c) ? client : Object.assign(client, { send: async () => ({}) }),
  );
}
