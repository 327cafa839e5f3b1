import { RepositoryGlob } from '../auth/repository-glob.js';
import { isValidName } from '../protocol/names.js';

/** A `name` or `destination` of a sync repository rule that cannot work; `key` says which. */
export class RepositoryPatternError extends Error {
  override readonly name = 'RepositoryPatternError';

  constructor(
    readonly key: 'name' | 'destination',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One `repositories` entry of a sync job: which source repositories it takes, and the name each
 * gets at the destination. Wildcards are those of access rules (src/auth/repository-glob.ts):
 * `*` within one path component, `**` across components. The destination holds the same
 * wildcards in the same order, and each is replaced by the text it matched in the source name:
 * `team/*` -> `mirror/team/*` sends `team/app` to `mirror/team/app`.
 */
export class RepositoryPattern {
  readonly source: string;
  readonly destination: string;
  private readonly glob: RepositoryGlob;

  constructor(source: string, destination: string = source) {
    this.source = source;
    this.destination = destination;
    try {
      this.glob = new RepositoryGlob(source);
    } catch (error) {
      throw new RepositoryPatternError('name', (error as Error).message);
    }
    try {
      new RepositoryGlob(destination);
    } catch (error) {
      throw new RepositoryPatternError('destination', (error as Error).message);
    }
    const wanted = wildcardsOf(source).join(' ');
    const given = wildcardsOf(destination).join(' ');
    if (wanted !== given) {
      throw new RepositoryPatternError(
        'destination',
        `${JSON.stringify(destination)} must hold the same wildcards, in the same order, as ${JSON.stringify(source)} (${wanted || 'none'}), so that each source repository gets its own name`,
      );
    }
  }

  /** True when the pattern names one repository: it is synced without reading the catalog. */
  get isExact(): boolean {
    return wildcardsOf(this.source).length === 0;
  }

  /** The destination name of a source repository, or undefined when the pattern does not take it. */
  destinationOf(repository: string): string | undefined {
    const parts = this.glob.captures(repository);
    if (parts === undefined) return undefined;
    let index = 0;
    const renamed = this.destination.replace(/\*\*|\*/g, () => parts[index++] ?? '');
    // A `**` that matched nothing can leave `a//b`; such a name could not be pushed anyway.
    return isValidName(renamed) ? renamed : undefined;
  }
}

function wildcardsOf(pattern: string): string[] {
  return pattern.match(/\*\*|\*/g) ?? [];
}
