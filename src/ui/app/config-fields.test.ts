import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine, configRows } from './config-fields.js';

describe('image config rows', () => {
  it('shows each non-empty field, and no row for an empty one', () => {
    const rows = configRows({
      config: {
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: null,
        Env: ['PATH=/usr/bin', 'A=b c'],
        Labels: { 'org.opencontainers.image.title': 'demo' },
        ExposedPorts: { '80/tcp': {} },
        User: '',
        WorkingDir: '/srv',
      },
    });
    assert.deepEqual(
      rows.map((row) => [row.field, row.lines]),
      [
        ['entrypoint', ['/bin/sh -c']],
        ['env', ['PATH=/usr/bin', 'A=b c']],
        ['labels', ['org.opencontainers.image.title=demo']],
        ['ports', ['80/tcp']],
        ['workdir', ['/srv']],
      ],
    );
    assert.deepEqual(configRows(undefined), []);
  });

  it('quotes command arguments only where needed', () => {
    assert.equal(commandLine(['sh', '-c', "echo 'hi' there"]), `sh -c 'echo '\\''hi'\\'' there'`);
  });
});
