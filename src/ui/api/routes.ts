import { catalogScope, repositoryScope, type Scope } from '../../auth/scope.js';
import type { Route } from '../../http/router.js';
import { imageDetails } from './image-details.js';
import { uiInfo } from './info.js';
import { listRepositories } from './repository-list.js';
import { repositorySummary } from './repository-summary.js';
import { repositoryUsageHandler } from './repository-usage.js';
import { listTagSummaries } from './tag-list.js';

type Params = Readonly<Record<string, string>>;

const authenticated = (): readonly Scope[] => [];
const pull = (p: Params) => [repositoryScope(p.name!, 'pull')];
const catalog = () => [catalogScope];

/**
 * Per-repository resources end in a `_`-prefixed segment, which no name component can be (each
 * starts with a letter or digit), so the name is everything before it, slashes included.
 */
const repository = (resource: string) => new RegExp(`^/berth/v1/repositories/(?<name>.+)/${resource}$`);

/**
 * The web UI's read-only JSON API (GET only), for what the registry API cannot answer cheaply:
 * tag counts, push times, total sizes and platforms. Same access gate as `/v2/`: the caller's
 * credentials, the scopes below, and lists filtered to what the caller may pull. The server
 * puts these before the administration routes (whose `/berth/v1/repositories/<name>` pattern
 * would otherwise take these paths) and leaves them out when the UI is off.
 */
export const uiApiRoutes: readonly Route[] = [
  { name: 'ui-info', pattern: /^\/berth\/v1\/ui\/info$/, methods: { GET: { handler: uiInfo, access: authenticated } } },
  { name: 'ui-repositories', pattern: /^\/berth\/v1\/repositories$/, methods: { GET: { handler: listRepositories, access: catalog } } },
  { name: 'ui-repository', pattern: repository('_summary'), methods: { GET: { handler: repositorySummary, access: pull } } },
  { name: 'ui-tags', pattern: repository('_tags'), methods: { GET: { handler: listTagSummaries, access: pull } } },
  { name: 'ui-image', pattern: repository('_images/(?<digest>[^/]+)'), methods: { GET: { handler: imageDetails, access: pull } } },
  { name: 'ui-usage', pattern: repository('_usage'), methods: { GET: { handler: repositoryUsageHandler, access: pull } } },
];
