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

/** `repository:team/app:pull,push` */
export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}
