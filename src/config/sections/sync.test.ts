import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../load.js';

const base = `version: 0.1
storage:
  inmemory:
`;

function withJobs(jobs: string): string {
  return `${base}sync:\n${jobs}`;
}

const oneJob = `  - name: mirror-app
    source: {url: "http://127.0.0.1:5001", username: u, password: p}
    destination: {url: "127.0.0.1:5000", insecure: true}
    repositories:
      - name: "team/*"
        destination: "mirror/team/*"
        tags: {regex: "^v[0-9]+"}
      - name: library/alpine
        tags: {semver: ">=3.18 <4"}
    schedule: 1h
`;

function refused(yaml: string, key: RegExp): void {
  assert.throws(() => parseConfig(withJobs(yaml), {}), (error: Error) => error instanceof ConfigError && key.test(error.message), yaml);
}

describe('sync (config)', () => {
  test('absent by default; a job is read with its defaults, and no key is reported as not implemented', () => {
    assert.equal(parseConfig(base, {}).config.sync, undefined);
    const { config, warnings } = parseConfig(withJobs(oneJob), {});
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.sync, [
      {
        name: 'mirror-app',
        source: { url: 'http://127.0.0.1:5001', username: 'u', password: 'p', insecure: false },
        destination: { url: '127.0.0.1:5000', insecure: true },
        repositories: [
          { name: 'team/*', destination: 'mirror/team/*', tags: { regex: '^v[0-9]+' } },
          { name: 'library/alpine', tags: { semver: '>=3.18 <4' } },
        ],
        referrers: true,
        schedule: 3_600_000,
      },
    ]);
  });

  test('mistakes are errors that name the key', () => {
    const job = (repositories: string, extra = '', source = '{url: "http://127.0.0.1:5001"}') =>
      `  - name: j\n    source: ${source}\n    destination: {url: "http://127.0.0.1:5000"}\n    repositories:\n${repositories}${extra}`;
    refused(job('      - name: "team/*"\n        tags: {regex: "(["}\n'), /sync\.0\.repositories\.0\.tags\.regex: not a regular expression/);
    refused(job('      - name: "team/*"\n        tags: {semver: "one point two"}\n'), /sync\.0\.repositories\.0\.tags\.semver: not a semver range/);
    refused(job('      - name: "team/*"\n        destination: "mirror"\n'), /sync\.0\.repositories\.0\.destination: .*same wildcards/);
    refused(job('      - name: "Team"\n'), /sync\.0\.repositories\.0\.name: /);
    refused(job('      - name: a\n', '', '{url: "ftp://127.0.0.1:5001"}'), /sync\.0\.source\.url: .*http or https/);
    refused(job('      - name: a\n', '', '{url: "https://127.0.0.1:5001", insecure: true}'), /sync\.0\.source\.url: .*cannot be insecure/);
    refused(job('      - name: a\n', '', '{url: "http://127.0.0.1:5001/v2/"}'), /sync\.0\.source\.url: .*no path/);
    refused(job('      - name: a\n', '    schedule: 10ms\n'), /sync\.0\.schedule: must be at least 1s/);
    refused(job('      []\n'), /sync\.0\.repositories: must list at least one repository/);
    refused(`${job('      - name: a\n')}${job('      - name: b\n')}`, /sync\.1\.name: another job is named "j"/);
  });
});
