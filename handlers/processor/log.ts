/** Structured log lines (JSON, one per line: what Lambda's JSON log format expects on stdout). */

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';
export type Logger = (level: LogLevel, message: string, detail?: object) => void;

/** A logger writing JSON lines through `write`, stamped with `now`. */
export const jsonLogger =
  (write: (line: string) => void, now: () => number): Logger =>
  (level, message, detail = {}) =>
    write(JSON.stringify({ level, message, ...detail, timestamp: new Date(now()).toISOString() }));

/** What to log of an error: its name, message, AWS code and HTTP status, and its cause. */
export function errorDetail(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: String(error) };
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  return {
    error: e.name,
    error_message: e.message.slice(0, 500),
    ...(e.code ? { error_code: e.code } : {}),
    ...(e.$metadata?.httpStatusCode ? { http_status: e.$metadata.httpStatusCode } : {}),
    ...(e.cause !== undefined ? { cause: errorDetail(e.cause) } : {}),
  };
}
