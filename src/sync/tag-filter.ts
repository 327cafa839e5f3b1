import semver, { type SemVer } from 'semver';

/** Which tags of a repository a sync copies. */
export type TagFilter = (tag: string) => boolean;

/** What the config wrote under `tags`. */
export interface TagFilterSpec {
  regex?: string;
  semver?: string;
}

/** The key of `tags` that is wrong, and why. */
export interface TagFilterProblem {
  key: 'regex' | 'semver';
  message: string;
}

/**
 * The filter for a `tags` spec: every tag when it is empty; with `regex`, tags in which the
 * expression is found (unanchored, as written); with `semver`, tags that are semantic versions
 * (`1.2.3`, `1.2.3-rc.1`, or the same with a leading `v`) inside the range; with both, tags that
 * pass both. A tag that is not a full semantic version (`latest`, `1.2`) never passes a range:
 * guessing what `1.2` means would copy tags nobody asked for.
 */
export function compileTagFilter(spec: TagFilterSpec = {}): { filter: TagFilter; problem?: undefined } | { filter?: undefined; problem: TagFilterProblem } {
  const checks: TagFilter[] = [];
  if (spec.regex !== undefined) {
    let expression: RegExp;
    try {
      expression = new RegExp(spec.regex, 'u');
    } catch (error) {
      return { problem: { key: 'regex', message: `not a regular expression: ${(error as Error).message}` } };
    }
    checks.push((tag) => expression.test(tag));
  }
  if (spec.semver !== undefined) {
    const range = semver.validRange(spec.semver) === null ? undefined : new semver.Range(spec.semver);
    if (range === undefined) return { problem: { key: 'semver', message: `not a semver range: ${JSON.stringify(spec.semver)} (e.g. ">=1.2 <2", "^1.4", "~2.0.1")` } };
    checks.push((tag) => {
      const version = semverOfTag(tag);
      return version !== undefined && range.test(version);
    });
  }
  return { filter: (tag) => checks.every((check) => check(tag)) };
}

/** The semantic version a tag names (strictly, a leading `v` allowed), or undefined. */
export function semverOfTag(tag: string): SemVer | undefined {
  const text = tag.startsWith('v') ? tag.slice(1) : tag;
  // semver's own parser also takes `=1.2.3` and surrounding spaces; a tag means only its digits.
  if (!/^\d/.test(text)) return undefined;
  return semver.parse(text) ?? undefined;
}
