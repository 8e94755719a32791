import type { Redis } from 'ioredis';

/**
 * Each API key's downloads, newest first, for `GET /v1/downloads`. BullMQ
 * indexes jobs by state only, so Ferry keeps its own sorted set per owner.
 * Members sort by their text (all scores are 0): a zero-padded creation time,
 * then the id. A cursor is the last member seen, so a page starts exactly
 * after it, however many jobs share a millisecond and however many arrive meanwhile.
 */
export class DownloadIndex {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #key(owner: string): string {
    return `${this.prefix}:ferry:owner:${owner}`;
  }

  static member(createdAt: number, id: string): string {
    return `${String(createdAt).padStart(15, '0')}:${id}`;
  }

  async add(owner: string, entries: ReadonlyArray<{ id: string; createdAt: number }>): Promise<void> {
    if (entries.length === 0) return;
    const args = entries.flatMap(({ id, createdAt }) => [0, DownloadIndex.member(createdAt, id)]);
    await this.redis.zadd(this.#key(owner), ...args);
  }

  /** Up to `count` members older than `before` (or the newest, without it), newest first. */
  async page(owner: string, count: number, before?: string): Promise<Array<{ id: string; member: string }>> {
    const members = await this.redis.zrevrangebylex(this.#key(owner), before === undefined ? '+' : `(${before}`, '-', 'LIMIT', 0, count);
    return members.map((member) => ({ id: member.slice(member.indexOf(':') + 1), member }));
  }

  /** Forgets jobs retention has removed; called lazily by the list that found them gone. */
  async remove(owner: string, members: readonly string[]): Promise<void> {
    if (members.length > 0) await this.redis.zrem(this.#key(owner), ...members);
  }
}
