import type { RedisClient } from './redis/connections.js';
import { ferryKey } from './redis/keys.js';
import { scanKeys } from './redis/scan-keys.js';

const PRUNE_CHUNK = 1000;
/**
 * Entries younger than this are never dropped (by the pruner or a list): the API writes a download's entry
 * just before its job, so a fresh entry without a job is usually one still being
 * enqueued. An enqueue takes milliseconds; this leaves room for a slow Redis.
 */
const PRUNE_GRACE_MS = 5000;

/** Whether an entry is old enough that a missing job means the job is gone. */
const settled = (member: string, now = Date.now()): boolean => Number(member.slice(0, member.indexOf(':'))) < now - PRUNE_GRACE_MS;
// What member() makes of a job id: ids are printable ASCII, and the API takes none longer than 200.
const MEMBER = /^\d{15}:[\x21-\x7e]{1,200}$/;

/**
 * Each API key's downloads, newest first, for `GET /v1/downloads`. BullMQ
 * indexes jobs by state only, so Ferry keeps its own sorted set per owner.
 * Members sort by their text (all scores are 0): a zero-padded creation time,
 * then the id. A cursor is the last member seen, so a page starts exactly
 * after it, however many jobs share a millisecond and however many arrive meanwhile.
 */
export class DownloadIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  #key(owner: string): string {
    return ferryKey(this.prefix, 'owner', owner);
  }

  static member(createdAt: number, id: string): string {
    return `${String(createdAt).padStart(15, '0')}:${id}`;
  }

  /** Whether `text` could be a member, as a cursor handed back must be. */
  static isMember(text: string): boolean {
    return MEMBER.test(text);
  }

  /** The id a member names (the time before it holds no colon). */
  static idOf(member: string): string {
    return member.slice(member.indexOf(':') + 1);
  }

  async add(owner: string, entries: ReadonlyArray<{ id: string; createdAt: number }>): Promise<void> {
    if (entries.length === 0) return;
    const args = entries.flatMap(({ id, createdAt }) => [0, DownloadIndex.member(createdAt, id)]);
    await this.redis.zadd(this.#key(owner), ...args);
  }

  /** Up to `count` members older than `before` (or the newest, without it), newest first. */
  async page(owner: string, count: number, before?: string): Promise<Array<{ id: string; member: string }>> {
    const members = await this.redis.zrevrangebylex(this.#key(owner), before === undefined ? '+' : `(${before}`, '-', 'LIMIT', 0, count);
    return members.map((member) => ({ id: DownloadIndex.idOf(member), member }));
  }

  /**
   * Forgets every entry whose job is gone (`jobKey` names a job's hash), for
   * all owners. BullMQ's retention removes jobs without telling anyone, so
   * without this the index of a key that never lists would only grow.
   * Returns how many entries went.
   */
  async prune(jobKey: (id: string) => string): Promise<number> {
    let removed = 0;
    for await (const keys of scanKeys(this.redis, this.#key('*'))) {
      for (const key of keys) removed += await this.#pruneOne(key, jobKey);
    }
    return removed;
  }

  async #pruneOne(key: string, jobKey: (id: string) => string): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(key, cursor, 'COUNT', PRUNE_CHUNK);
      cursor = next;
      // ZSCAN answers member, score, member, score…
      const members = flat.filter((member, i) => i % 2 === 0 && settled(member));
      const pipeline = this.redis.pipeline();
      for (const member of members) pipeline.exists(jobKey(DownloadIndex.idOf(member)));
      const exists = (await pipeline.exec()) ?? [];
      const gone = members.filter((_, i) => exists[i]?.[1] === 0);
      if (gone.length > 0) removed += await this.redis.zrem(key, ...gone);
    } while (cursor !== '0');
    return removed;
  }

  /** Forgets jobs retention has removed; called lazily by the list that found them gone. */
  async remove(owner: string, members: readonly string[]): Promise<void> {
    const gone = members.filter((member) => settled(member));
    if (gone.length > 0) await this.redis.zrem(this.#key(owner), ...gone);
  }
}
