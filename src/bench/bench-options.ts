/** Everything a run is told, after the CLI has parsed and defaulted it. Sizes in bytes. */
export interface BenchOptions {
  /** `host:port` of the registry (reported, not dialled: the transport does that). */
  registry: string;
  /** Repository names start with this (`bench/<random>` by default), so runs never collide. */
  prefix: string;
  /** Operations kept in flight (workers, each with its own connection). */
  concurrency: number;
  /** Bound of the timed phase by number of operations; undefined: bounded by duration only. */
  count?: number;
  /** Bound of the timed phase in milliseconds; undefined: bounded by count only. */
  durationMs?: number;
  /** Layers per image (push-images, pull-images, mixed). */
  layers: number;
  /** Layer size (images) or blob size (push-blob), bytes. */
  size: number;
  /** The first `sharedBase` layers are common to every image of the run. */
  sharedBase: number;
  /** manifest-get: HEAD instead of GET. */
  head: boolean;
  /** list: repositories created for the catalog listing. */
  repos: number;
  /** list: tags created for the tag listing. */
  tags: number;
  /** Page size asked for with `?n=` in listings. */
  page: number;
  /** push-blob: how each blob is uploaded. */
  mode: UploadMode;
  /** push-blob --mode chunked: PATCH size, bytes. */
  chunk: number;
  /** mixed: relative weight of each kind of operation. */
  mix: MixWeights;
}

export type UploadMode = 'monolithic' | 'chunked' | 'post';

/** mixed: how often each operation is picked, relative to the others (0 leaves it out). */
export interface MixWeights {
  push: number;
  pull: number;
  get: number;
  head: number;
  tags: number;
}
