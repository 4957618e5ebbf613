/**
 * The processor's errors: one base class, a `cause` where another error is behind it. The
 * handler tells them apart with `instanceof`; every caught error is logged before it becomes a
 * count or a retry.
 */

/** Base of every error the processor raises itself. */
export class ProcessorError extends Error {
  override name = 'ProcessorError';
}

/** An environment variable the template should have set is missing or out of range. */
export class ProcessorConfigError extends ProcessorError {
  override name = 'ProcessorConfigError';
}

/** An AWS call took longer than its timeout and was abandoned (retryable). */
export class CallTimeoutError extends ProcessorError {
  override name = 'CallTimeoutError';
}

/** BatchGetItem still left keys unprocessed when the deadline came (retryable on the next delivery). */
export class UnprocessedKeysError extends ProcessorError {
  override name = 'UnprocessedKeysError';
}
