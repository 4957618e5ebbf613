/** AWS errors as the SDK throws them, for the adapter tests that share them. */

/** A DynamoDB throttle (retryable). */
export const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
