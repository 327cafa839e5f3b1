// Every route of the /v2/ table, derived from the table itself, must ask unauthenticated callers
// for credentials: containerd sends each request without credentials first and only retries
// after a 401 carrying a WWW-Authenticate challenge.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { formatScope, mergeScopes } from '../../src/auth/scope.js';
import { matchRoute, type Endpoint, type Route } from '../../src/http/router.js';
import { routes } from '../../src/http/routes.js';
import { startAuthRegistry, tokenPath, testService, type AuthRegistry } from '../helpers/auth.js';
import { expectError, rawRequest } from '../helpers/http.js';

/** A value for each path parameter the route patterns use. */
const samples: Record<string, string> = {
  name: 'team/app',
  reference: 'latest',
  digest: `sha256:${'a'.repeat(64)}`,
  uuid: '3f6b2c1e-0000-4000-8000-000000000000',
};

/** A concrete path for a route pattern: each named group becomes its sample value. */
function samplePath(route: Route): string {
  let source = route.pattern.source.replace(/^\^/, '').replace(/\$$/, '');
  source = source.replace(/\(\?<(\w+)>(?:[^()]|\([^()]*\))*\)/g, (_, group: string) => {
    assert.ok(group in samples, `route ${route.name}: no sample value for the path parameter "${group}" (add one above)`);
    return samples[group]!;
  });
  const path = source.replace(/\\\//g, '/').replace(/\/\?/g, '/');
  assert.ok(!/[\\()[\]?*+^$]/.test(path), `route ${route.name}: could not turn ${route.pattern} into a path (got ${path})`);
  return path;
}

interface Case {
  route: Route;
  method: string;
  path: string;
  endpoint: Endpoint;
}

const cases: Case[] = routes.flatMap((route) =>
  Object.entries(route.methods).map(([method, endpoint]) => ({ route, method, path: samplePath(route), endpoint: endpoint! })),
);

test('the walk covers every method of every route, and each sample path reaches its own route', () => {
  assert.equal(cases.length, routes.reduce((n, route) => n + Object.keys(route.methods).length, 0));
  assert.ok(cases.length >= 15);
  for (const c of cases) assert.equal(matchRoute(routes, c.method, c.path).route, c.route, `${c.method} ${c.path}`);
});

const describeCase = (c: Case) => `${c.method} ${c.path} (${c.route.name})`;

describe('every route without credentials, htpasswd', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  before(async () => {
    registry = await startAuthRegistry('htpasswd', 'none');
  });
  after(async () => {
    await registry.close();
  });

  for (const c of cases) {
    test(`${describeCase(c)} answers 401 with a Basic challenge`, async () => {
      for (const headers of [{}, { Authorization: 'Basic Og==' }, { Authorization: 'Bearer whatever' }]) {
        const response = await rawRequest(registry.url, { method: c.method, path: c.path, headers });
        await expectError(response, 401, 'UNAUTHORIZED', { head: c.method === 'HEAD' });
        assert.equal(response.headers.get('www-authenticate'), 'Basic realm="berth-test-realm"', JSON.stringify(headers));
      }
    });
  }
});

describe('every route without credentials, token', { timeout: 60_000 }, () => {
  let registry: AuthRegistry;
  before(async () => {
    registry = await startAuthRegistry('tokenserver', 'none');
  });
  after(async () => {
    await registry.close();
  });

  for (const c of cases) {
    test(`${describeCase(c)} answers 401 with a Bearer challenge naming its scope`, async () => {
      const response = await rawRequest(registry.url, { method: c.method, path: c.path });
      await expectError(response, 401, 'UNAUTHORIZED', { head: c.method === 'HEAD' });
      const scopes = mergeScopes(c.endpoint.access(matchRoute(routes, c.method, c.path).params));
      const scope = scopes.length > 0 ? `,scope="${scopes.map(formatScope).join(' ')}"` : '';
      assert.equal(
        response.headers.get('www-authenticate'),
        `Bearer realm="http://127.0.0.1${tokenPath}",service="${testService}"${scope}`,
      );
    });
  }

  test('a malformed token gets error="invalid_token"', async () => {
    const response = await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: { Authorization: 'Bearer not.a.token' } });
    await expectError(response, 401, 'UNAUTHORIZED');
    assert.match(response.headers.get('www-authenticate')!, /scope="repository:team\/app:pull",error="invalid_token"$/);
  });
});
