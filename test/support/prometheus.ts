import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@ferry/launcher/redis-server';

/** Debian's prometheus package puts both here. */
export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface ScrapeJob {
  readonly name: string;
  /** host:port of each target. */
  readonly targets: readonly string[];
  /** Sent as `Authorization: Bearer …`. */
  readonly token?: string;
}

/** One sample of an instant query's answer. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/**
 * A real Prometheus server, started by a test with its own config and data dir on a
 * free loopback port, scraping every second; `rules` (a rules file) is loaded as well.
 */
export class TestPrometheus {
  private constructor(
    readonly baseUrl: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  static async start(jobs: readonly ScrapeJob[], rules?: string): Promise<TestPrometheus> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-prometheus-'));
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      ...(rules === undefined ? [] : ['rule_files:', '  - rules.yml']),
      'scrape_configs:',
      ...jobs.flatMap((job) => [
        `  - job_name: ${JSON.stringify(job.name)}`,
        ...(job.token === undefined ? [] : ['    authorization:', `      credentials: ${JSON.stringify(job.token)}`]),
        '    static_configs:',
        `      - targets: ${JSON.stringify(job.targets)}`,
      ]),
    ].join('\n');
    await writeFile(path.join(dir, 'prometheus.yml'), `${config}\n`);
    if (rules !== undefined) await copyFile(rules, path.join(dir, 'rules.yml'));
    const port = await freePort();
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const prometheus = new TestPrometheus(`http://127.0.0.1:${port}`, child, dir, () => output);
    await prometheus.#ready();
    return prometheus;
  }

  async #ready(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`prometheus exited with ${this.child.exitCode}:\n${this.output()}`);
      const ready = await fetch(`${this.baseUrl}/-/ready`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`prometheus was not ready in 20 s:\n${this.output()}`);
  }

  /** GET /api/v1/<path>; fails on anything but a success answer. */
  async api<T>(apiPath: string, params: Record<string, string> = {}): Promise<T> {
    const response = await fetch(`${this.baseUrl}/api/v1/${apiPath}?${new URLSearchParams(params)}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${apiPath} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  /** An instant query (/api/v1/query), its vector as numbers. */
  async query(expr: string): Promise<Sample[]> {
    const data = await this.api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>('query', { query: expr });
    if (data.resultType !== 'vector') throw new Error(`${expr} is a ${data.resultType}, not a vector`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The one value of a query that sums to one sample, or undefined when it has none. */
  async value(expr: string): Promise<number | undefined> {
    const samples = await this.query(expr);
    if (samples.length > 1) throw new Error(`${expr} has ${samples.length} samples, not one`);
    return samples[0]?.value;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
