import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientKey, LoginThrottle, LoginThrottledError, type LoginThrottleOptions } from './login-throttle.js';

/** A throttle on a clock the test moves, and a counter of the password checks it let through. */
function setup(options: Partial<LoginThrottleOptions> = {}) {
  let now = 1_000_000;
  const throttle = new LoginThrottle({ attempts: 3, addressAttempts: 100, windowMs: 60_000, now: () => now, ...options });
  let checks = 0;
  const login = (user: string, address: string, right: boolean) =>
    throttle.attempt(user, address, async () => {
      checks++;
      return right ? user : undefined;
    });
  return { throttle, login, advance: (ms: number) => (now += ms), checks: () => checks };
}

async function refused(attempt: Promise<unknown>): Promise<number> {
  let seconds = 0;
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(error instanceof LoginThrottledError, String(error));
    seconds = error.retryAfterSeconds;
    return true;
  });
  return seconds;
}

describe('login throttle', () => {
  test('per user: past the limit even the right password is refused, from any address, without a check', async () => {
    const { login, checks, advance } = setup();
    for (let i = 0; i < 3; i++) assert.equal(await login('alice', '10.0.0.1', false), undefined);
    advance(10_000);
    const before = checks();
    assert.equal(await refused(login('alice', '10.0.0.1', true)), 50);
    assert.equal(await refused(login('alice', '10.0.0.2', true)), 50);
    assert.equal(checks(), before, 'a refused login is not checked');
    assert.equal(await login('bob', '10.0.0.1', true), 'bob', 'other users from the same address pass');
  });

  test('per address: failures for many names block the address, not other addresses', async () => {
    const { login } = setup({ attempts: 100, addressAttempts: 4 });
    for (let i = 0; i < 4; i++) assert.equal(await login(`guess${i}`, '192.0.2.7', false), undefined);
    await refused(login('alice', '192.0.2.7', true));
    assert.equal(await login('alice', '192.0.2.8', true), 'alice');
  });

  test('the window ends: counting starts afresh', async () => {
    const { login, advance } = setup();
    for (let i = 0; i < 3; i++) await login('alice', 'a', false);
    advance(59_999);
    assert.equal(await refused(login('alice', 'a', true)), 1);
    advance(1);
    assert.equal(await login('alice', 'a', true), 'alice');
    for (let i = 0; i < 2; i++) await login('alice', 'a', false);
    assert.equal(await login('alice', 'a', true), 'alice', 'two failures in the new window are below the limit');
  });

  test('successful logins below the limit pass, and do not wipe earlier failures', async () => {
    const { login } = setup();
    await login('alice', 'a', false);
    await login('alice', 'a', false);
    for (let i = 0; i < 20; i++) assert.equal(await login('alice', 'a', true), 'alice');
    await login('alice', 'a', false);
    await refused(login('alice', 'a', true));
  });

  test('guesses sent in parallel count while they are checked', async () => {
    const throttle = new LoginThrottle({ attempts: 3, addressAttempts: 100, windowMs: 60_000 });
    const waiting: (() => void)[] = [];
    let checks = 0;
    const slowWrong = () =>
      throttle.attempt('alice', 'a', () => {
        checks++;
        return new Promise<undefined>((resolve) => waiting.push(() => resolve(undefined)));
      });
    const attempts = Array.from({ length: 10 }, () => slowWrong().then(() => 'checked', (e: unknown) => (e instanceof LoginThrottledError ? 'refused' : 'error')));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(checks, 3);
    for (const release of waiting) release();
    const outcomes = await Promise.all(attempts);
    assert.deepEqual(outcomes.filter((o) => o === 'checked').length, 3);
    assert.deepEqual(outcomes.filter((o) => o === 'refused').length, 7);
  });

  test('memory is bounded: a flood of names keeps at most maxTracked entries', async () => {
    const { login, throttle } = setup({ maxTracked: 50, addressAttempts: 1_000_000 });
    for (let i = 0; i < 500; i++) await login(`name${i}`, `10.1.${i >> 8}.${i & 255}`, false);
    assert.ok(throttle.tracked.users <= 50, `users tracked: ${throttle.tracked.users}`);
    assert.ok(throttle.tracked.addresses <= 50, `addresses tracked: ${throttle.tracked.addresses}`);
  });

  test('a successful login with nothing against it leaves no entry behind', async () => {
    const { login, throttle } = setup();
    for (let i = 0; i < 10; i++) await login(`user${i}`, 'a', true);
    assert.deepEqual(throttle.tracked, { users: 0, addresses: 0 });
  });
});

describe('client address keys', () => {
  test('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64, no address as local', () => {
    assert.equal(clientKey('192.0.2.1'), '192.0.2.1');
    assert.equal(clientKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:0db8:0001:0002::ffff'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.notEqual(clientKey('2001:db8:1:2::1'), clientKey('2001:db8:1:3::1'));
    assert.equal(clientKey(undefined), 'local');
  });
});
