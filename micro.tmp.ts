import { makeEvent } from './scripts/lib/bench-batches';
const ev = makeEvent(1);
const strs = ev.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString('utf8')).filter((s) => { try { JSON.parse(s); return true; } catch { return false; } });
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
const T: Record<string, number[]> = {};
class R { constructor(public raw: any, public timestampMs: number, public received_at: number, public replayed: boolean, public recordIndex: number, public traffic_flow_score: number, public congestion_level: string) {} }
let sink = 0;
for (let run = 0; run < 60; run++) {
  let t = cpu(); for (const s of strs) { const o = JSON.parse(s); sink += o.vehicle_count; } (T.parse ??= []).push(cpu() - t);
  t = cpu(); for (let i = 0; i < strs.length; i++) { const o = JSON.parse(strs[i]!); o.timestampMs = 1; o.received_at = 2; o.replayed = false; o.recordIndex = i; o.traffic_flow_score = 3.5; o.congestion_level = 'NORMAL'; sink += o.vehicle_count; } (T.mutate ??= []).push(cpu() - t);
  t = cpu(); for (let i = 0; i < strs.length; i++) { const o = JSON.parse(strs[i]!); const r = new R(o, 1, 2, false, i, 3.5, 'NORMAL'); sink += r.raw.vehicle_count; } (T.wrap ??= []).push(cpu() - t);
  t = cpu(); const m = new Map<string, number>(); for (let i = 0; i < strs.length; i++) { const o = JSON.parse(strs[i]!); m.set(o.sensor_id, (m.get(o.sensor_id) ?? 0) + 1); } (T.parseMap ??= []).push(cpu() - t);
}
for (const [k, v] of Object.entries(T)) console.log(k.padEnd(10), Math.round(v.sort((a, b) => a - b)[5]! / strs.length), 'ns');
