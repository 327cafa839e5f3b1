import { compareSpecificity, RepositoryGlob } from './repository-glob.js';
import { coversAction, isAction, type Action, type Scope } from './scope.js';

/** One `access.rules` entry, as the config gives it. */
export interface AccessRuleOptions {
  /** A repository pattern (see RepositoryGlob). */
  repository: string;
  /** What everyone may do, logged in or not. */
  anonymous?: readonly string[];
  /** What every logged-in user may do. */
  authenticated?: readonly string[];
  users?: Readonly<Record<string, readonly string[]>>;
  groups?: Readonly<Record<string, readonly string[]>>;
}

/** The `access` section. */
export interface AccessPolicyOptions {
  /** Users who may do everything, `_catalog` included. */
  admins?: readonly string[];
  /** Group name → its members. */
  groups?: Readonly<Record<string, readonly string[]>>;
  rules?: readonly AccessRuleOptions[];
}

/** A rule check failed at load: the message names the rule and key. */
export class AccessPolicyError extends Error {
  override readonly name = 'AccessPolicyError';
}

interface Rule {
  readonly glob: RepositoryGlob;
  readonly index: number;
  readonly anonymous: readonly Action[];
  readonly authenticated: readonly Action[];
  readonly users: ReadonlyMap<string, readonly Action[]>;
  readonly groups: ReadonlyMap<string, readonly Action[]>;
}

/**
 * Who may do what: the one policy used by Basic (htpasswd) auth and by Berth's token server.
 *
 * - Without an `access` section (`new AccessPolicy(undefined)`): every logged-in user may do
 *   everything, anonymous requests nothing (Distribution's behaviour with htpasswd).
 * - Admins may do everything.
 * - `registry:catalog` is open to every logged-in user; the catalog handler lists only the
 *   repositories the caller may pull. Anonymous requests may not list it.
 * - `registry:admin` (Berth's administration endpoints, e.g. deleting a repository) is granted to
 *   admins only: no rule can grant it, not even `*` on `**`.
 * - For a repository, only the most specific rule whose pattern matches decides (more literal
 *   characters, then fewer `**`, then fewer `*`, then the earlier rule in the file). Its actions are the
 *   union of `anonymous` (which applies to everyone), `authenticated` (any logged-in user), the
 *   user's own entry and the entries of each group the user belongs to. No matching rule:
 *   nothing. `*` means every action. Actions do not imply one another: pushing with any client
 *   needs `pull` and `push`.
 */
export class AccessPolicy {
  /** True when an `access` section exists (rules decide rather than "logged in = everything"). */
  readonly configured: boolean;
  private readonly admins: ReadonlySet<string>;
  private readonly memberOf: ReadonlyMap<string, readonly string[]>;
  /** Most specific first; ties keep file order. */
  private readonly rules: readonly Rule[];

  constructor(options: AccessPolicyOptions | undefined) {
    this.configured = options !== undefined;
    this.admins = new Set(options?.admins ?? []);
    const memberOf = new Map<string, string[]>();
    for (const [group, members] of Object.entries(options?.groups ?? {})) {
      for (const user of members) memberOf.set(user, [...(memberOf.get(user) ?? []), group]);
    }
    this.memberOf = memberOf;
    const knownGroups = new Set(Object.keys(options?.groups ?? {}));
    this.rules = (options?.rules ?? [])
      .map((rule, index) => compileRule(rule, index, knownGroups))
      .sort((a, b) => compareSpecificity(a.glob, b.glob) || a.index - b.index);
  }

  isAdmin(user: string | undefined): boolean {
    return user !== undefined && (!this.configured || this.admins.has(user));
  }

  /**
   * The actions `user` (undefined: anonymous) may take on the resource. `['*']` means all.
   * For `registry:catalog`, `['*']` means the caller may list it (filtered per repository).
   */
  actionsFor(user: string | undefined, resource: Pick<Scope, 'type' | 'name'>): readonly Action[] {
    if (this.isAdmin(user)) return ['*'];
    if (resource.type === 'registry') return resource.name === 'catalog' && user !== undefined ? ['*'] : [];
    const rule = this.rules.find((r) => r.glob.matches(resource.name));
    if (!rule) return [];
    const actions = new Set<Action>(rule.anonymous);
    if (user !== undefined) {
      for (const action of rule.authenticated) actions.add(action);
      for (const action of rule.users.get(user) ?? []) actions.add(action);
      for (const group of this.memberOf.get(user) ?? []) for (const action of rule.groups.get(group) ?? []) actions.add(action);
    }
    return actions.has('*') ? ['*'] : [...actions];
  }

  /** True when `user` may take every action of the scope. */
  allows(user: string | undefined, scope: Scope): boolean {
    const granted = this.actionsFor(user, scope);
    return scope.actions.every((action) => coversAction(granted, action));
  }

  /** The part of `scope` the user may take (for a token server): never more than was asked. */
  grantable(user: string | undefined, scope: Scope): Action[] {
    const granted = this.actionsFor(user, scope);
    return scope.actions.filter((action) => coversAction(granted, action));
  }

  /** The rule that decides for this repository name, if any (exposed for tests and explanations). */
  ruleFor(name: string): { repository: string; index: number } | undefined {
    const rule = this.rules.find((r) => r.glob.matches(name));
    return rule && { repository: rule.glob.pattern, index: rule.index };
  }
}

function compileRule(options: AccessRuleOptions, index: number, knownGroups: ReadonlySet<string>): Rule {
  const where = `access.rules[${index}]`;
  let glob: RepositoryGlob;
  try {
    glob = new RepositoryGlob(options.repository);
  } catch (error) {
    throw new AccessPolicyError(`${where}.repository: ${(error as Error).message}`);
  }
  const actions = (key: string, list: readonly string[] | undefined): Action[] =>
    (list ?? []).map((action) => {
      if (!isAction(action)) throw new AccessPolicyError(`${where}.${key}: unknown action ${JSON.stringify(action)} (pull, push, delete or *)`);
      return action;
    });
  const groups = new Map<string, Action[]>();
  for (const [group, list] of Object.entries(options.groups ?? {})) {
    if (!knownGroups.has(group)) throw new AccessPolicyError(`${where}.groups.${group}: no such group in access.groups`);
    groups.set(group, actions(`groups.${group}`, list));
  }
  return {
    glob,
    index,
    anonymous: actions('anonymous', options.anonymous),
    authenticated: actions('authenticated', options.authenticated),
    users: new Map(Object.entries(options.users ?? {}).map(([user, list]) => [user, actions(`users.${user}`, list)])),
    groups,
  };
}
