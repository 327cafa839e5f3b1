/** The shapes the UI JSON API (`<base>berth/v1/...`) and the registry API answer with. */

export interface UiInfo {
  user: string | null;
  deleteEnabled: boolean;
  readOnly: boolean;
  version: string;
}

export interface RepositoryRow {
  name: string;
  tagCount: number;
  lastPush: string | null;
}

export interface RepositoryPage {
  repositories: RepositoryRow[];
  total: number;
  next: string | null;
}

export interface RepositorySummary extends RepositoryRow {
  deleteEnabled: boolean;
  canDelete: boolean;
}

export type ManifestKind = 'image' | 'index' | 'artifact' | 'other';

export interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  artifactType?: string;
  kind: ManifestKind;
  size: number;
  platforms: string[];
  created: string | null;
  pushedAt: string | null;
}

export interface TagPage {
  name: string;
  tags: TagSummary[];
  total: number;
  next: string | null;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * An image config as the registry stored it (OCI image config / Docker config). Nothing checks
 * its fields on push, so every value is read as unknown and checked where it is shown
 * (config-fields.ts).
 */
export interface ImageConfig {
  config?: unknown;
  history?: unknown;
  [field: string]: unknown;
}

export interface ImageDetails {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  totalSize: number;
  kind: ManifestKind;
  artifactType?: string;
  manifest: string;
  tags: string[];
  subject?: Descriptor;
  platform?: string;
  /** Image: its config's `created`; index: the newest child's, else its annotation; artifact: its annotation. */
  created?: string | null;
  config?: { digest: string; mediaType: string; size: number; content?: ImageConfig };
  layers: Array<{ digest: string; mediaType: string; size: number; annotations?: Record<string, string> }>;
  manifests: Array<{ digest: string; mediaType: string; size: number; platform?: string; artifactType?: string; totalSize: number | null }>;
}

export interface RepositoryUsage {
  name: string;
  blobs: number;
  bytes: number;
  missing: number;
}

/** `GET /v2/<name>/referrers/<digest>`: an OCI image index. */
export interface ReferrersIndex {
  manifests?: Descriptor[];
}
