import { z } from 'zod';
import { section, text } from '../values.js';

/**
 * Berth extension, not in Distribution: who may do what to which repositories. Distribution
 * leaves this to the token server; Berth applies these rules itself, with any auth provider.
 */
export const accessActions = ['pull', 'push', 'delete', '*'] as const;
export type AccessAction = (typeof accessActions)[number];

const actions = z.array(z.enum(accessActions, { error: 'must be one of pull, push, delete, *' }), {
  error: 'must be a list of actions (pull, push, delete, *)',
});
const names = z.array(text, { error: 'must be a list of names' });

const rule = section({
  /** A glob on repository names (`public/*`); src/auth/repository-glob.ts defines the syntax. */
  repository: text.refine((v) => v.length > 0, { message: 'must not be empty' }),
  /** What requests without credentials may do. */
  anonymous: actions.default([]),
  /** What any signed-in user may do. */
  authenticated: actions.default([]),
  users: z.record(z.string(), actions, { error: 'must be a mapping of user names to actions' }).default({}),
  groups: z.record(z.string(), actions, { error: 'must be a mapping of group names to actions' }).default({}),
});

export const accessSchema = section({
  /** Users who may do anything to every repository. */
  admins: names.default([]),
  groups: z.record(z.string(), names, { error: 'must be a mapping of group names to lists of users' }).default({}),
  /** How matching rules combine is the access policy's to define (src/auth/access-policy.ts). */
  rules: z.array(rule, { error: 'must be a list of rules' }).default([]),
})
  .superRefine((access, ctx) => {
    access.rules.forEach((rule, index) => {
      for (const group of Object.keys(rule.groups)) {
        if (!Object.hasOwn(access.groups, group)) {
          ctx.addIssue({ code: 'custom', path: ['rules', index, 'groups', group], message: 'no such group under access.groups' });
        }
      }
    });
  })
  .optional();

export type AccessConfig = NonNullable<z.output<typeof accessSchema>>;
export type AccessRule = AccessConfig['rules'][number];
