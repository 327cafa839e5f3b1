/**
 * Access scopes as Docker token auth writes them: `repository:<name>:pull,push`,
 * `registry:catalog:*`. The same form is used for what a request needs, for what a token grants
 * and for what the access rules allow, so all three compare directly.
 */
export type Action = 'pull' | 'push' | 'delete' | '*';

export interface Scope {
  readonly type: 'repository' | 'registry';
  /** A repository name, or `catalog` for `registry` scopes. */
  readonly name: string;
  readonly actions: readonly Action[];
}

export function repositoryScope(name: string, ...actions: Action[]): Scope {
  return { type: 'repository', name, actions };
}

export const catalogScope: Scope = { type: 'registry', name: 'catalog', actions: ['*'] };

/**
 * Berth's administration endpoints (`/berth/v1/...`, such as deleting a whole repository). The
 * access policy grants it to admins only; a token must carry `registry:admin:*`.
 */
export const adminScope: Scope = { type: 'registry', name: 'admin', actions: ['*'] };

/** `repository:team/app:pull,push` */
export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

export const allActions: readonly Action[] = ['pull', 'push', 'delete', '*'];

export function isAction(value: string): value is Action {
  return (allActions as readonly string[]).includes(value);
}

/** True when `granted` covers `action`: `*` covers everything. */
export function coversAction(granted: Iterable<string>, action: string): boolean {
  for (const g of granted) if (g === '*' || g === action) return true;
  return false;
}

/**
 * Reads scopes as clients send them to a token server: one `scope` value may hold several
 * scopes separated by spaces. The name is everything between the first and the last colon (a
 * name may carry `host:port/`), and a resource class (`repository(plugin):...`) is dropped.
 * Unknown types and actions are left out rather than refused: a token server grants less, never
 * more, than it was asked for.
 */
export function parseScopes(text: string): Scope[] {
  const scopes: Scope[] = [];
  for (const item of text.split(' ')) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first <= 0 || last <= first) continue;
    const type = item.slice(0, first).replace(/\(.*\)$/, '');
    const name = item.slice(first + 1, last);
    const actions = item
      .slice(last + 1)
      .split(',')
      .filter(isAction);
    if ((type !== 'repository' && type !== 'registry') || name === '' || actions.length === 0) continue;
    scopes.push({ type, name, actions: [...new Set(actions)] });
  }
  return scopes;
}

/**
 * Merges scopes on the same resource into one (`repository:a:pull` and `repository:a:push`
 * become `repository:a:pull,push`), keeping the first-seen order of resources and actions.
 */
export function mergeScopes(scopes: readonly Scope[]): Scope[] {
  const merged = new Map<string, { type: Scope['type']; name: string; actions: Action[] }>();
  for (const scope of scopes) {
    const key = `${scope.type}:${scope.name}`;
    const entry = merged.get(key) ?? { type: scope.type, name: scope.name, actions: [] };
    for (const action of scope.actions) if (!entry.actions.includes(action)) entry.actions.push(action);
    merged.set(key, entry);
  }
  return [...merged.values()];
}
