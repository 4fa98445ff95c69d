import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config';

describe('loadConfig', () => {
  it('reads an EventBridge deployment and freezes it', () => {
    const config = loadConfig({ TUNEWIRE_TABLE: 'tunewire-dev', AWS_REGION: 'eu-west-1', TUNEWIRE_EVENT_BUS: 'tunewire-dev' });
    expect(config).toEqual({ tableName: 'tunewire-dev', region: 'eu-west-1', bus: { kind: 'eventbridge', eventBusName: 'tunewire-dev' } });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every missing variable instead of defaulting to a placeholder', () => {
    try {
      loadConfig({ TUNEWIRE_BUS: 'pubsub' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual(['AWS_REGION', 'TUNEWIRE_PUBSUB_TOPIC', 'TUNEWIRE_TABLE']);
    }
  });
});
