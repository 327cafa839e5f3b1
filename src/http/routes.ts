import { deleteBlob, getBlob } from './handlers/blobs.js';
import { apiBase, listCatalog, listReferrers, listTags } from './handlers/listings.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { cancelUpload, completeUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads.js';
import type { Route } from './router.js';

const name = '(?<name>.+)';

/**
 * The whole `/v2/` API in one table. Order matters where patterns overlap: the upload routes
 * come before the blob route, which would otherwise read `uploads` as a digest.
 */
export const routes: readonly Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: apiBase, HEAD: apiBase } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: listCatalog } },
  { name: 'tags', pattern: new RegExp(`^/v2/${name}/tags/list$`), methods: { GET: listTags } },
  {
    name: 'manifest',
    pattern: new RegExp(`^/v2/${name}/manifests/(?<reference>[^/]+)$`),
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { name: 'upload-start', pattern: new RegExp(`^/v2/${name}/blobs/uploads/?$`), methods: { POST: startUpload } },
  {
    name: 'upload',
    pattern: new RegExp(`^/v2/${name}/blobs/uploads/(?<uuid>[^/]+)$`),
    methods: { GET: uploadStatus, PATCH: patchUpload, PUT: completeUpload, DELETE: cancelUpload },
  },
  {
    name: 'blob',
    pattern: new RegExp(`^/v2/${name}/blobs/(?<digest>[^/]+)$`),
    methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  },
  { name: 'referrers', pattern: new RegExp(`^/v2/${name}/referrers/(?<digest>[^/]+)$`), methods: { GET: listReferrers } },
];
