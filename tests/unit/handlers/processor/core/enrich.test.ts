import { describe, expect, it } from 'vitest';
import { congestionLevel, trafficFlowScore } from '../../../../../handlers/processor/core/enrich';

const thresholds = { warning: 80, critical: 90, hysteresis: 5 };

describe('trafficFlowScore', () => {
  it('is 100 at free flow and 0 at standstill or full congestion', () => {
    expect(trafficFlowScore(60, 0)).toBe(100);
    expect(trafficFlowScore(120, 0)).toBe(100);
    expect(trafficFlowScore(0, 10)).toBe(0);
    expect(trafficFlowScore(60, 100)).toBe(0);
  });
  it('scales with speed below free flow and with the uncongested share', () => {
    expect(trafficFlowScore(30, 50)).toBe(25);
    expect(trafficFlowScore(45, 20)).toBe(60);
  });
});

describe('congestionLevel', () => {
  it('is above a threshold only when strictly above it', () => {
    expect(congestionLevel(80, thresholds)).toBe('NORMAL');
    expect(congestionLevel(80.1, thresholds)).toBe('WARNING');
    expect(congestionLevel(90.1, thresholds)).toBe('CRITICAL');
  });
});
