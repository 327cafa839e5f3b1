/**
 * Repository name patterns for access rules: `*` matches within one path component (no `/`),
 * `**` matches across components (any characters, `/` included, possibly none). Everything
 * else matches itself. `team/*` matches `team/app` but not `team/app/api`; `team/**` matches
 * both; neither matches `team` itself.
 */
export class RepositoryGlob {
  readonly pattern: string;
  /** Characters that are not wildcards: the first measure of how specific the pattern is. */
  readonly literalLength: number;
  /** How many `**` it holds: fewer is more specific. */
  readonly deepWildcards: number;
  /** How many single `*` it holds: fewer is more specific. */
  readonly wildcards: number;
  private readonly regex: RegExp;

  constructor(pattern: string) {
    if (pattern === '') throw new Error('a repository pattern may not be empty');
    if (!/^[a-z0-9._\-/*]+$/.test(pattern)) {
      throw new Error(
        `repository pattern ${JSON.stringify(pattern)} may hold only lower-case letters, digits, ".", "_", "-", "/" and the wildcards * and **`,
      );
    }
    if (/\*{3,}/.test(pattern)) throw new Error(`repository pattern ${JSON.stringify(pattern)}: use * or **, not ***`);
    this.pattern = pattern;
    let source = '';
    let literal = 0;
    let wildcards = 0;
    let deep = 0;
    for (let i = 0; i < pattern.length; ) {
      if (pattern.startsWith('**', i)) {
        source += '(.*)';
        deep++;
        i += 2;
      } else if (pattern[i] === '*') {
        source += '([^/]*)';
        wildcards++;
        i += 1;
      } else {
        source += pattern[i]!.replace(/[.\-/]/, '\\$&');
        literal++;
        i += 1;
      }
    }
    this.regex = new RegExp(`^${source}$`);
    this.literalLength = literal;
    this.wildcards = wildcards;
    this.deepWildcards = deep;
  }

  matches(name: string): boolean {
    return this.regex.test(name);
  }

  /** The text each wildcard matched, in the pattern's order (for renames), or undefined when the name does not match. */
  captures(name: string): string[] | undefined {
    return this.regex.exec(name)?.slice(1);
  }
}

/**
 * Orders patterns from most to least specific: more literal characters first, then fewer `**`,
 * then fewer `*`; a tie is left to the caller (rules keep their order in the file).
 */
export function compareSpecificity(a: RepositoryGlob, b: RepositoryGlob): number {
  if (a.literalLength !== b.literalLength) return b.literalLength - a.literalLength;
  if (a.deepWildcards !== b.deepWildcards) return a.deepWildcards - b.deepWildcards;
  return a.wildcards - b.wildcards;
}
