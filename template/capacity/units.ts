/** Arithmetic and formatting shared by the capacity model's modules. */

export const round2 = (x: number) => Math.round(x * 100) / 100;
export const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });
export const roundUp = (x: number, step: number) => Math.ceil(x / step) * step;
export const perMillion = (count: number, usd: number) => (count / 1e6) * usd;
export const gb = (bytes: number) => bytes / 1024 ** 3;
