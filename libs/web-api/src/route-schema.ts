import type { z } from 'zod';

/**
 * One route of the JSON API: the zod schemas of what it takes (a JSON body,
 * query parameters) and of what it answers. The gateway parses requests with
 * them and must build answers of the response's type; clients use the types.
 */
export interface RouteSchema {
  body?: z.ZodTypeAny;
  query?: z.ZodTypeAny;
  response: z.ZodTypeAny;
}

/** What a client sends as the route's JSON body. */
export type BodyInput<R extends RouteSchema> = R extends { body: infer B extends z.ZodTypeAny } ? z.input<B> : never;
/** The route's query parameters as a client may send them. */
export type QueryInput<R extends RouteSchema> = R extends { query: infer Q extends z.ZodTypeAny } ? z.input<Q> : never;

/** The body as the route's handler gets it, parsed (nothing for a route without one). */
export type BodyOf<R extends RouteSchema> = R extends { body: infer B extends z.ZodTypeAny } ? z.output<B> : Record<string, never>;
/** The query as the route's handler gets it, parsed (nothing for a route without one). */
export type QueryOf<R extends RouteSchema> = R extends { query: infer Q extends z.ZodTypeAny } ? z.output<Q> : Record<string, never>;

/** What the route answers. */
export type ResponseOf<R extends RouteSchema> = z.output<R['response']>;

/**
 * T where it has no property that Shape lacks, at any depth; a property Shape
 * lacks becomes `never`. TypeScript checks extra properties only in object
 * literals it can see, not in spreads nor in what a function returns, so
 * whoever builds an answer asks `T & Exactly<ResponseOf<R>, T>`: an answer
 * carries the schema's fields and no others.
 */
export type Exactly<Shape, T> = unknown extends Shape
  ? T
  : T extends null | undefined
    ? T
    : [NonNullable<Shape>] extends [readonly (infer E)[]]
      ? T extends readonly (infer F)[]
        ? readonly Exactly<E, F>[]
        : T
      : [NonNullable<Shape>] extends [object]
        ? { [K in keyof T]: K extends keyof NonNullable<Shape> ? Exactly<NonNullable<Shape>[K], T[K]> : never }
        : T;
