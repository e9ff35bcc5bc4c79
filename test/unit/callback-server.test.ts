import { describe, expect, it } from 'vitest';
import { buildCallbackApp } from '../../src/auth/callback-server.js';
import { pastedCallback } from '../../src/auth/login.js';

describe('the login callback route', () => {
  it('accepts exactly one answer with the right state', async () => {
    const received: URLSearchParams[] = [];
    const app = await buildCallbackApp('/callback', 'good-state', (query) => received.push(query));
    const forged = await app.inject({ method: 'GET', url: '/callback?code=x&state=evil' });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toMatch(/does not match/);
    const accepted = await app.inject({ method: 'GET', url: '/callback?code=abc&state=good-state' });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.headers['content-type']).toMatch(/text\/html/);
    expect(accepted.body).toMatch(/close this tab/);
    const again = await app.inject({ method: 'GET', url: '/callback?code=def&state=good-state' });
    expect(again.statusCode).toBe(410);
    expect(received.map((query) => query.get('code'))).toEqual(['abc']);
    expect((await app.inject({ method: 'GET', url: '/other' })).statusCode).toBe(404);
    await app.close();
  });

  it('shows a clear page for access_denied and hands the error on', async () => {
    const received: URLSearchParams[] = [];
    const app = await buildCallbackApp('/callback', 's', (query) => received.push(query));
    const denied = await app.inject({ method: 'GET', url: '/callback?error=access_denied&state=s' });
    expect(denied.statusCode).toBe(400);
    expect(denied.body).toMatch(/access_denied/);
    expect(received[0]?.get('error')).toBe('access_denied');
    await app.close();
  });
});

describe('pastedCallback', () => {
  it('reads a redirected URL or a bare code', () => {
    expect(pastedCallback('http://127.0.0.1:8976/callback?code=c1&state=s1', 'mine').get('state')).toBe('s1');
    expect(Object.fromEntries(pastedCallback('c2', 'mine'))).toEqual({ code: 'c2', state: 'mine' });
    expect(() => pastedCallback('not a code', 'mine')).toThrow(/paste the whole redirected URL/);
  });
});
