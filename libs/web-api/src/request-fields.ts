import { z } from 'zod';

/**
 * The kinds of field requests carry. Refusals name their field in their own
 * message (as the gateway has always worded them); zod's own messages, for a
 * value of the wrong type, are worded by the gateway ("name: must be a string").
 */

/** A string; "" when absent or null (which the gateway treats alike). */
export const text = () =>
  z
    .string()
    .nullish()
    .transform((value) => value ?? '');

/** A string that must not be empty once trimmed (absent counts as empty); trimmed. */
export const requiredText = (message: string) => text().pipe(z.string().trim().min(1, message));

/** One of a few words (a query's sort order, a role), or the message. */
export const oneOf = <const T extends readonly [string, ...string[]]>(words: T, message: string) => z.enum(words, { message });

/** `page_size`: a whole number from 0 to max, `fallback` when absent (0: the service's default). */
export const pageSize = (max: number, fallback = 0) => {
  const message = `page_size must be a whole number from 0 to ${max}`;
  return z
    .string()
    .regex(/^\d{1,6}$/, message)
    .refine((value) => Number(value) <= max, message)
    .optional()
    .transform((value) => (value === undefined ? fallback : Number(value)));
};
