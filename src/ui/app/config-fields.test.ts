import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandLine, configRows, historyEntries } from './config-fields.js';

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

  it('reads a lone string as a one-item list and leaves out values of any other shape', () => {
    const rows = configRows({
      config: { Cmd: 'echo hi', Entrypoint: ['sh', 3], Env: 'A=b', Labels: ['x'], ExposedPorts: 'nope', User: 7, WorkingDir: { a: 1 } },
    });
    assert.deepEqual(
      rows.map((row) => [row.field, row.lines]),
      [
        ['cmd', [`'echo hi'`]],
        ['env', ['A=b']],
      ],
    );
    assert.deepEqual(configRows({ config: 'not an object' }), []);
    assert.deepEqual(configRows({ config: null }), []);
  });

  it('reads the build history, checking every entry', () => {
    assert.deepEqual(historyEntries({ history: 'not a list' }), []);
    assert.deepEqual(historyEntries({ history: { created_by: 'x' } }), []);
    assert.deepEqual(historyEntries(undefined), []);
    assert.deepEqual(
      historyEntries({
        history: [
          { created: '2026-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
          { created_by: ['not', 'text'], comment: 'buildkit step' },
          null,
          { created: 5, created_by: 'RUN make' },
        ],
      }),
      [
        { created: '2026-01-01T00:00:00Z', step: 'CMD ["sh"]', emptyLayer: true },
        { created: undefined, step: 'buildkit step', emptyLayer: false },
        { created: undefined, step: '', emptyLayer: false },
        { created: undefined, step: 'RUN make', emptyLayer: false },
      ],
    );
  });

  it('quotes command arguments only where needed', () => {
    assert.equal(commandLine(['sh', '-c', "echo 'hi' there"]), `sh -c 'echo '\\''hi'\\'' there'`);
  });
});
