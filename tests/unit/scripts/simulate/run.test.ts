import { describe, expect, it } from 'vitest';
import { stackView } from '../../../../scripts/simulate/stack-view';

const view = stackView({ EnvironmentSuffix: 'unit' });

describe('the alert as an operator reads it', () => {
  it('renders the alert rule’s input transformer from the event, as the SNS subscriber gets it', async () => {
    const { renderAlert } = await import('../../../../scripts/simulate/run');
    const detail = { level: 'CRITICAL', previous_level: 'WARNING', sensor_id: 's-1', zone_id: 'z-1', congestion_index: 93.5, threshold: 90, reading_time: '2026-12-02T06:00:00.000Z', alert_id: 'abc' };
    expect(renderAlert(view.alertRule, { detail })).toBe(
      'Traffic congestion CRITICAL (was WARNING) at sensor s-1 in zone z-1: congestion index 93.5, threshold 90, reading at 2026-12-02T06:00:00.000Z. Alert abc.',
    );
  });
});
