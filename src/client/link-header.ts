/**
 * The `rel="next"` target of a `Link` header (RFC 8288), as registries send it for tag and
 * catalog pages: `</v2/_catalog?last=b&n=2>; rel="next"`. Undefined when there is no next page.
 */
export function nextLink(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const match of line.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]+)*)/g)) {
      if (/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(match[2] ?? '')) return match[1];
    }
  }
  return undefined;
}
