import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/domain/errors';
import { topicFromSearch } from '../../../shared/dashboard/live';
import { browserCommand, signInAddress } from '../../../shared/cli/dashboard';
import { refuseDevRequest } from '../../../shared/cli/dev-server';
import { isDashboardPath } from '../../../shared/dashboard/assets';

const issuesOf = (search: string) => {
  try {
    topicFromSearch(new URLSearchParams(search));
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((i) => i.path);
    throw error;
  }
  return [];
};

describe('the live-update topic of GET /events', () => {
  it('is the job list, one job or one model', () => {
    expect(topicFromSearch(new URLSearchParams(''))).toEqual({ kind: 'jobs' });
    expect(topicFromSearch(new URLSearchParams('job=iris-1'))).toEqual({ kind: 'job', jobId: 'iris-1' });
    expect(topicFromSearch(new URLSearchParams('model=iris%20forest'))).toEqual({ kind: 'model', model: 'iris forest' });
  });

  it('refuses a parameter given twice, an empty or oversized one, and job with model, naming each', () => {
    expect(issuesOf('job=a&job=b')).toEqual(['job']);
    expect(issuesOf('job=')).toEqual(['job']);
    expect(issuesOf(`model=${'m'.repeat(5_000)}`)).toEqual(['model']);
    expect(issuesOf('job=a&model=b')).toEqual(['model']);
  });
});

describe('tunewire dashboard', () => {
  it('signs in through the fragment, which browsers never send to the server', () => {
    const address = signInAddress('http://127.0.0.1:4311', 'a+b/c=');
    expect(address).toBe('http://127.0.0.1:4311/#token=a%2Bb%2Fc%3D');
    expect(new URL(address).pathname).toBe('/');
  });

  it('opens the browser $BROWSER names, else the platform opener, else none', () => {
    expect(browserCommand({ BROWSER: 'firefox' }, 'linux')).toEqual(['firefox']);
    expect(browserCommand({}, 'darwin')).toEqual(['open']);
    expect(browserCommand({ PATH: '/nowhere' }, 'linux')).toBeUndefined();
  });
});

describe("the dashboard's files on the dev server", () => {
  const guard = { port: 8787, token: 'secret' };
  const get = (headers: Record<string, string>) => ({ method: 'GET', headers });

  it('are the page, its script and its style, and nothing else', () => {
    expect(['/', '/index.html', '/dashboard/app.js', '/dashboard/app.css'].every(isDashboardPath)).toBe(true);
    expect(['/jobs', '/events', '/dashboard/', '/dashboard/../jobs', '/app.js'].some(isDashboardPath)).toBe(false);
  });

  it('load without the token, but only under our own Host and Origin', () => {
    expect(refuseDevRequest(get({ host: '127.0.0.1:8787' }), guard, { tokenFree: true })).toBeUndefined();
    expect(refuseDevRequest(get({ host: 'rebind.example:8787' }), guard, { tokenFree: true })?.statusCode).toBe(403);
    expect(refuseDevRequest(get({ host: '127.0.0.1:8787', origin: 'https://evil.example' }), guard, { tokenFree: true })?.statusCode).toBe(403);
    // the data still needs it
    expect(refuseDevRequest(get({ host: '127.0.0.1:8787' }), guard)?.statusCode).toBe(401);
  });
});
