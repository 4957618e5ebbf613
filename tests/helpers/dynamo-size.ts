/** The size DynamoDB bills an item by: handlers/processor/adapters/item-size.ts (the console API counts its read units with it). */
export { dynamoItemBytes } from '../../handlers/processor/adapters/item-size';
