import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HealthMonitor, type HealthCheck } from './health-monitor.js';

/** A check whose next results the test decides. */
function scripted(name: string, threshold: number): HealthCheck & { fail: boolean } {
  return {
    name,
    threshold,
    intervalMs: 60_000,
    fail: false,
    async run() {
      if (this.fail) throw new Error(`${name} is down`);
    },
  };
}

describe('HealthMonitor', () => {
  test('a check fails only after `threshold` failures in a row; one success clears it', async () => {
    const check = scripted('upstream', 3);
    const monitor = new HealthMonitor([check]);
    await monitor.checkNow();
    assert.equal(monitor.healthy, true);
    check.fail = true;
    await monitor.checkNow();
    await monitor.checkNow();
    assert.equal(monitor.healthy, true, 'two failures are below the threshold');
    await monitor.checkNow();
    assert.equal(monitor.healthy, false);
    assert.deepEqual(monitor.failures(), { upstream: 'upstream is down' });
    check.fail = false;
    await monitor.checkNow();
    assert.deepEqual(monitor.failures(), {});
    // The count starts again after a success.
    check.fail = true;
    await monitor.checkNow();
    assert.equal(monitor.healthy, true);
  });

  test('threshold 0 fails at the first failure; each failing check is named', async () => {
    const a = scripted('a', 0);
    const b = scripted('b', 1);
    const c = scripted('c', 0);
    const monitor = new HealthMonitor([a, b, c]);
    a.fail = true;
    b.fail = true;
    await monitor.checkNow();
    assert.deepEqual(monitor.failures(), { a: 'a is down', b: 'b is down' });
  });

  test('start runs every check at once, stop ends the timers', async () => {
    const check = scripted('now', 0);
    check.fail = true;
    const monitor = new HealthMonitor([check]);
    monitor.start();
    const deadline = Date.now() + 5_000;
    while (monitor.healthy) {
      assert.ok(Date.now() < deadline, 'the first run did not happen at start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    monitor.stop();
  });
});
