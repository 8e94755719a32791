import { randomUUID } from 'node:crypto';

// What randomUUID makes: lowercase hex in 8-4-4-4-12 groups.
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A new download or batch id. */
export const newId = (): string => randomUUID();

/**
 * Whether `text` is an id `newId` could have made. Checked before any lookup: an id
 * becomes part of a Redis key, and other text would name one of BullMQ's or
 * Ferry's own keys (`events`, `meta`, `<id>:lock`, `<batch>:members`) and fail as WRONGTYPE.
 */
export const isId = (text: string): boolean => ID.test(text);
