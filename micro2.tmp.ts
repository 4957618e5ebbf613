import { makeEvent } from './scripts/lib/bench-batches';
const ev = makeEvent(1);
const data = ev.Records.map((r) => r.kinesis.data);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const T: Record<string, number[]> = {};
let keep: unknown;
for (let run = 0; run < 80; run++) {
  let t = cpu(); { const out = []; for (const d of data) { const b = Buffer.from(d, 'base64'); try { out.push(JSON.parse(b.toString('utf8'))); } catch {} } keep = out; } (T.fromKeepObj ??= []).push(cpu() - t);
  t = cpu(); { const out = []; const bufs = []; for (const d of data) { const b = Buffer.from(d, 'base64'); bufs.push(b); try { out.push(JSON.parse(b.toString('utf8'))); } catch {} } keep = [out, bufs]; } (T.fromKeepObjBuf ??= []).push(cpu() - t);
  t = cpu(); { const out = []; let total = 0; for (const d of data) total += d.length; const big = Buffer.allocUnsafe(Math.ceil(total * 3 / 4)); let off = 0; const offs = new Int32Array(data.length + 1); for (let i = 0; i < data.length; i++) { const start = off; off += big.write(data[i]!, off, 'base64'); offs[i + 1] = off; try { out.push(JSON.parse(big.toString('utf8', start, off))); } catch {} } keep = [out, big, offs]; } (T.bigKeepObj ??= []).push(cpu() - t);
  t = cpu(); { for (const d of data) { const b = Buffer.from(d, 'base64'); try { JSON.parse(b.toString('utf8')); } catch {} } } (T.floor ??= []).push(cpu() - t);
}
for (const [k, v] of Object.entries(T)) console.log(k.padEnd(16), Math.round(v.slice(10).sort((a, b) => a - b)[10]! / data.length), 'ns');
