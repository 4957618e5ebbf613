/**
 * The size DynamoDB bills an item by, and the read units a read costs:
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 * (attribute names plus values; strings in UTF-8 bytes; a number about 1 byte per 2 significant
 * digits, plus 1; sets the sum of their elements; 3 bytes for a list or map, plus 1 per element).
 * A read unit is one strongly consistent read of up to 4 KB, or two eventually consistent ones;
 * Query and Scan round the total of the items they return up to 4 KB, BatchGetItem and GetItem
 * round each item.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

const numberBytes = (n: string) => Math.ceil(n.replace(/^-/, '').replace('.', '').replace(/^0+/, '').length / 2) + 1;

function valueBytes(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return numberBytes(v.N);
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, x) => n + Buffer.byteLength(x), 0);
  if (v.NS) return v.NS.reduce((n, x) => n + numberBytes(x), 0);
  if (v.L) return 3 + v.L.reduce((n, x) => n + 1 + valueBytes(x), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + 1 + Buffer.byteLength(k) + valueBytes(x), 0);
  return 0;
}

export const dynamoItemBytes = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((n, [name, v]) => n + Buffer.byteLength(name) + valueBytes(v), 0);

const READ_UNIT_BYTES = 4_096;

/** Read units of a Query or Scan page (its items' total, rounded up to 4 KB; at least one unit's worth). */
export const pageReadUnits = (items: readonly Record<string, AttributeValue>[], consistent: boolean): number =>
  Math.max(1, Math.ceil(items.reduce((n, i) => n + dynamoItemBytes(i), 0) / READ_UNIT_BYTES)) * (consistent ? 1 : 0.5);

/** Read units of items read one by one (BatchGetItem, GetItem): each rounded up to 4 KB. */
export const itemReadUnits = (items: readonly Record<string, AttributeValue>[], consistent: boolean): number =>
  items.reduce((n, i) => n + Math.max(1, Math.ceil(dynamoItemBytes(i) / READ_UNIT_BYTES)), 0) * (consistent ? 1 : 0.5);
