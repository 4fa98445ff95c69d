import { describe, expect, it } from 'vitest';
import { devBanner } from '../../../shared/cli/dev-server';

describe('devBanner', () => {
  const lines = devBanner('http://127.0.0.1:8787', "/home/o'neil/.tunewire/api-token");

  it('says where the API is and how to send the token, never the token itself', () => {
    expect(lines[0]).toContain('HTTP API on http://127.0.0.1:8787');
    expect(lines.join('\n')).toContain(`$(cat '/home/o'\\''neil/.tunewire/api-token')`);
  });

  it('says that Pub/Sub push authentication is off locally, and what a deployment needs', () => {
    const push = lines.find((l) => l.startsWith('Pub/Sub push authentication is off here'));
    expect(push).toContain('TUNEWIRE_PUSH_AUDIENCE');
    expect(push).toContain('TUNEWIRE_PUSH_SERVICE_ACCOUNT');
  });
});
