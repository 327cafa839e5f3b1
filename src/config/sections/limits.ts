import { z } from 'zod';
import { defaultHeaderSize, defaultTargetLength } from '../../http/request-limits.js';
import { defaultLimits, maxManifestBytes } from '../../registry/limits.js';
import { int, section } from '../values.js';

const atLeast = (minimum: number) => int.min(minimum, { error: `must be an integer of at least ${minimum}` });

/**
 * Berth: `limits` (Distribution has no such section). Bounds on what one request may make the
 * registry read, parse or keep, each refused with a clear error in the spec's format. The
 * defaults are far above what real clients send. Page sizes of the listings are Distribution's
 * `catalog.maxentries` and `tags.maxtags`.
 */
export const limitsSchema = section({
  /** Berth: bytes of one manifest; larger gets 413 MANIFEST_INVALID. At most 4 MiB (garbage collection reads no larger manifest). */
  manifestsize: atLeast(1024)
    .max(maxManifestBytes, { error: `must be at most ${maxManifestBytes} (4 MiB)` })
    .default(defaultLimits.manifestBytes),
  /** Berth: nesting depth of arrays and objects in a manifest; deeper gets 400 MANIFEST_INVALID. */
  manifestdepth: atLeast(8).default(defaultLimits.manifestDepth),
  /** Berth: bytes of a request's head (request line and headers); larger gets 431. */
  headersize: atLeast(4096).default(defaultHeaderSize),
  /** Berth: bytes of a request target (path and query); longer gets 414 NAME_INVALID. */
  pathlength: atLeast(1024).default(defaultTargetLength),
  /** Berth: tags per repository; a push that adds one past it gets 403 DENIED. 0: no limit. */
  tags: atLeast(0).default(defaultLimits.tagsPerRepository),
  /** Berth: bytes of one blob upload; larger gets 413 BLOB_UPLOAD_INVALID and the session is removed. 0: no limit. */
  uploadsize: atLeast(0).default(defaultLimits.uploadBytes),
}).prefault({});

export type LimitsConfig = z.output<typeof limitsSchema>;
