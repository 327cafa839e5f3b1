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

/** The parts of an image config the image page shows (OCI image config / Docker config). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
  };
  history?: Array<{ created?: string; created_by?: string; comment?: string; empty_layer?: boolean }>;
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
