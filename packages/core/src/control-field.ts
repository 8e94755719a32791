import type { RedisClient } from './redis/connections.js';

/** The field of a job's BullMQ hash where Ferry records a pause or cancel request; it goes when the job goes. */
export const CONTROL_FIELD = 'ferryControl';
export type ControlAction = 'pause' | 'cancel';

/** A stored control field's value, if it is one. */
export function asControlAction(value: unknown): ControlAction | undefined {
  return value === 'pause' || value === 'cancel' ? value : undefined;
}

/** The pause or cancel request recorded on the job whose hash is `jobKey`, if any. */
export async function readControl(redis: RedisClient, jobKey: string): Promise<ControlAction | undefined> {
  return asControlAction(await redis.hget(jobKey, CONTROL_FIELD));
}
