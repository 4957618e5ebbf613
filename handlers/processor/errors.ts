/**
 * The processor's errors: one base class, a `cause` where another error is behind it. The
 * handler tells them apart with `instanceof`; every caught error is logged before it becomes a
 * count or a retry.
 */
import { namedError } from '../../contract/errors';

/** Base of every error the processor raises itself. */
export class ProcessorError extends namedError('ProcessorError', Error) {}

/** An environment variable the template should have set is missing or out of range. */
export class ProcessorConfigError extends namedError('ProcessorConfigError', ProcessorError) {}

/** An AWS call took longer than its timeout and was abandoned (retryable). */
export class CallTimeoutError extends namedError('CallTimeoutError', ProcessorError) {}

/**
 * A conditional write lost to another writer (or to another attempt of its own): its condition
 * failed. `item` is the item that stands, as DynamoDB returned it (ReturnValuesOnConditionCheckFailure
 * ALL_OLD), or undefined when there is none or it was not asked for. An answer, not a fault: the
 * writer decides again on `item`. Recognised in one place (adapters/conditional-writes.ts conflictOf).
 */
export class ConditionalWriteConflict extends namedError('ConditionalWriteConflict', ProcessorError) {
  constructor(
    readonly item: Record<string, unknown> | undefined,
    options?: { cause?: unknown },
  ) {
    super(`Conditional write lost to another writer${item ? '' : ' (no item returned)'}`, options);
  }
}

/** BatchGetItem still left keys unprocessed when the deadline came (retryable on the next delivery). */
export class UnprocessedKeysError extends namedError('UnprocessedKeysError', ProcessorError) {}
