/**
 * The grammar of repository names and tags (OCI distribution spec, "Pulling manifests").
 * Every component starts and ends with [a-z0-9], so no name can contain `.`, `..` or a
 * component starting with `_`: a valid name can never escape or alias a storage path.
 */
const namePattern =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Distribution's limit on the whole name; clients limit host + name to 255 as well. */
export const maxNameLength = 255;

export function isValidName(name: string): boolean {
  return name.length <= maxNameLength && namePattern.test(name);
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}
