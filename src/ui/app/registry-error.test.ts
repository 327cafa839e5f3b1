import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFailure, responseFailure } from './registry-error.js';

describe('registry error messages', () => {
  it('reads the spec error format', () => {
    const error = describeFailure(404, 'Not Found', '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":"a/b"}]}');
    assert.equal(error.message, 'repository name not known to registry (a/b) [NAME_UNKNOWN]');
    assert.equal(error.status, 404);
    assert.equal(error.code, 'NAME_UNKNOWN');
  });

  it('reads a token server’s `details` too', () => {
    assert.equal(describeFailure(401, 'Unauthorized', '{"details":"incorrect username or password"}').message, 'incorrect username or password');
  });

  it('describes other answers by status and a short text, never HTML', () => {
    assert.equal(describeFailure(502, 'Bad Gateway', '<html><body>bad</body></html>').message, 'The registry answered 502 Bad Gateway');
    assert.equal(describeFailure(500, '', 'boom').message, 'The registry answered 500: boom');
  });

  it('reads a failed answer’s body', async () => {
    const error = await responseFailure(new Response('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}', { status: 403, statusText: 'Forbidden' }));
    assert.equal(error.message, 'requested access to the resource is denied [DENIED]');
    assert.equal(error.status, 403);
  });
});
