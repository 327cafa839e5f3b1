import { catalogScope, repositoryScope, type Scope } from '../auth/scope.js';
import { deleteBlob, getBlob } from './handlers/blobs.js';
import { apiBase, listCatalog, listReferrers, listTags } from './handlers/listings.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { cancelUpload, completeUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads.js';
import type { Route } from './router.js';

type Params = Readonly<Record<string, string>>;

/** The access each kind of request needs, as Distribution asks it of token servers. */
const authenticated = (): readonly Scope[] => [];
const pull = (p: Params) => [repositoryScope(p.name!, 'pull')];
const push = (p: Params) => [repositoryScope(p.name!, 'pull', 'push')];
const remove = (p: Params) => [repositoryScope(p.name!, 'delete')];
const catalog = () => [catalogScope];

const name = '(?<name>.+)';

/**
 * The whole `/v2/` API in one table. Order matters where patterns overlap: the upload routes
 * come before the blob route, which would otherwise read `uploads` as a digest.
 */
export const routes: readonly Route[] = [
  {
    name: 'base',
    pattern: /^\/v2\/?$/,
    methods: { GET: { handler: apiBase, access: authenticated }, HEAD: { handler: apiBase, access: authenticated } },
  },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: { handler: listCatalog, access: catalog } } },
  { name: 'tags', pattern: new RegExp(`^/v2/${name}/tags/list$`), methods: { GET: { handler: listTags, access: pull } } },
  {
    name: 'manifest',
    pattern: new RegExp(`^/v2/${name}/manifests/(?<reference>[^/]+)$`),
    methods: {
      GET: { handler: getManifest, access: pull },
      HEAD: { handler: getManifest, access: pull },
      PUT: { handler: putManifest, access: push },
      DELETE: { handler: deleteManifest, access: remove },
    },
  },
  {
    name: 'upload-start',
    pattern: new RegExp(`^/v2/${name}/blobs/uploads/?$`),
    methods: { POST: { handler: startUpload, access: push } },
  },
  {
    name: 'upload',
    pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`),
    methods: {
      GET: { handler: uploadStatus, access: push },
      PATCH: { handler: patchUpload, access: push },
      PUT: { handler: completeUpload, access: push },
      DELETE: { handler: cancelUpload, access: push },
    },
  },
  {
    name: 'blob',
    pattern: new RegExp(`^/v2/${name}/blobs/(?<digest>[^/]+)$`),
    methods: {
      GET: { handler: getBlob, access: pull },
      HEAD: { handler: getBlob, access: pull },
      DELETE: { handler: deleteBlob, access: remove },
    },
  },
  {
    name: 'referrers',
    pattern: new RegExp(`^/v2/${name}/referrers/(?<digest>[^/]+)$`),
    methods: { GET: { handler: listReferrers, access: pull } },
  },
];
