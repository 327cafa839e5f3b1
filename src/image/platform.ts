import type { Descriptor, Platform } from './descriptor.js';

/**
 * Platform names and the choice of a manifest from an index, following the rules container
 * runtimes use: `arm64` means `arm64/v8` when no variant is given, an exact variant is preferred,
 * and the attestation manifests BuildKit adds (`unknown/unknown`) are never an image to run.
 */

/** Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`); throws a TypeError on anything else. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/i.test(part))) {
    throw new TypeError(`invalid platform ${JSON.stringify(text)}: expected os/arch[/variant]`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalize(variant === undefined ? { os: os.toLowerCase(), architecture: architecture.toLowerCase() } : {
    os: os.toLowerCase(),
    architecture: architecture.toLowerCase(),
    variant: variant.toLowerCase(),
  });
}

/** Formats a platform back as `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Node's names for architectures, in the spelling of GOARCH that the image spec uses. */
const nodeArchitectures: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/**
 * The platform this process runs on. Images are Linux images almost always, so on macOS and
 * Windows hosts (which run them in a Linux VM) the os is still `linux`.
 */
export function currentPlatform(): Platform {
  const architecture = nodeArchitectures[process.arch] ?? process.arch;
  const platform: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    // Node reports the ARM version it was built for; v7 is the usual floor.
    const armVersion = (process.config.variables as { arm_version?: string }).arm_version;
    platform.variant = `v${armVersion ?? '7'}`;
  }
  return normalize(platform);
}

/** Fills the implied variant so that `arm64` and `arm64/v8` compare equal. */
function normalize(platform: Platform): Platform {
  if (platform.architecture === 'aarch64') platform = { ...platform, architecture: 'arm64' };
  if (platform.architecture === 'x86_64') platform = { ...platform, architecture: 'amd64' };
  if (platform.architecture === 'arm64' && platform.variant === undefined) return { ...platform, variant: 'v8' };
  return platform;
}

/**
 * The index entry that best runs on `wanted`, or undefined when none does. An entry without a
 * variant matches any wanted variant (but one with the exact variant wins); a wanted platform
 * without a variant matches any entry of its os and architecture (the first in index order).
 */
export function matchPlatform(manifests: Descriptor[], wanted: Platform): Descriptor | undefined {
  const want = normalize(wanted);
  let fallback: Descriptor | undefined;
  for (const manifest of manifests) {
    if (!manifest.platform) continue;
    const have = normalize(manifest.platform);
    if (have.os === 'unknown' || have.architecture === 'unknown') continue;
    if (have.os !== want.os || have.architecture !== want.architecture) continue;
    if (have.variant === want.variant) return manifest;
    if (have.variant === undefined || want.variant === undefined) fallback ??= manifest;
  }
  return fallback;
}
