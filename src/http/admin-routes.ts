import { adminScope } from '../auth/scope.js';
import { deleteRepository } from './handlers/repositories.js';
import type { Route } from './router.js';

/** Where Berth's own administration API lives (under `http.prefix`, like `/v2/`). */
export const adminApiBase = '/berth/v1';

/**
 * Berth's administration endpoints, outside `/v2/` so that no path can be read as an OCI API
 * request (`DELETE /v2/<name>/` would be one more pattern overlapping the repository name).
 * They pass through the same access gate as the API and need `registry:admin:*`, which the
 * access policy grants to admins only (without auth, everyone is one, as for every route).
 */
export const adminRoutes: readonly Route[] = [
  {
    name: 'repository',
    pattern: /^\/berth\/v1\/repositories\/(?<name>.+)$/,
    methods: { DELETE: { handler: deleteRepository, access: () => [adminScope] } },
  },
];
