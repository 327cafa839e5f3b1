import { z } from 'zod';
import { flag, freeMap, section, text } from '../values.js';

/** One middleware: its registered name and options only it understands. */
const middleware = section({
  name: text,
  disabled: flag.optional(),
  options: freeMap.nullish(),
});

const chain = z.array(middleware, { error: 'must be a list of middlewares' });

/** `middleware`: registry, repository and storage middlewares (cloudfront, redirect, rewrite, ...). */
export const middlewareSchema = section({
  registry: chain.optional(),
  repository: chain.optional(),
  storage: chain.optional(),
}).optional();

export type MiddlewareConfig = NonNullable<z.output<typeof middlewareSchema>>;
