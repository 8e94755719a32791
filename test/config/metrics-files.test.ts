import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApiMetrics, createWorkerMetrics } from '@ferry/core';
import { PROMTOOL } from '../support/prometheus.js';

// The dashboard and the alerting rules are hand-written against metrics that change;
// these tests read the real files so that a renamed metric or label breaks here, not on a dashboard.

const root = new URL('../../', import.meta.url);
const file = (relative: string) => fileURLToPath(new URL(relative, root));
const RULES = 'deploy/prometheus/alerts.yml';
const SCRAPE_CONFIG = 'deploy/prometheus/prometheus.yml';
const DASHBOARD = 'deploy/grafana/ferry.json';

// Built as the processes build them. The API's queue-depth gauge reads Redis only when collected, which these tests never do.
const unused = new Redis({ lazyConnect: true });
const queueNamed = (name: string) => ({ toKey: (type: string) => `ferry:${name}:${type}` }) as unknown as Queue;
const worker = createWorkerMetrics(1);
const api = createApiMetrics(unused, { downloads: queueNamed('downloads'), callbacks: queueNamed('callbacks') });
afterAll(() => {
  worker.close();
  api.close();
  unused.disconnect();
});

/** Every series name Ferry's processes export, a histogram's _bucket/_sum/_count and a summary's _sum/_count included, with each one's labels. */
function exported(): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const registry of [worker.registry, api.registry]) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] };
      const type = String((metric as unknown as { type?: unknown }).type ?? '');
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of suffixes)
        names.set(`${name}${suffix}`, new Set([...labelNames, ...(suffix === '_bucket' ? ['le'] : []), ...(type === 'summary' ? ['quantile'] : [])]));
    }
  }
  return names;
}

/** The PromQL expressions of the rules file and the dashboard. */
function expressions(): { where: string; expr: string }[] {
  const rules = parse(readFileSync(file(RULES), 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  const dashboard = JSON.parse(readFileSync(file(DASHBOARD), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  return [
    ...rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `${RULES} ${rule.alert ?? rule.record}`, expr: rule.expr }))),
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `${DASHBOARD} "${panel.title}"`, expr: target.expr }))),
  ];
}

/** Labels Prometheus itself attaches to every scraped series. */
const TARGET_LABELS = new Set(['job', 'instance']);

describe('the alerting rules and the example scrape configuration', () => {
  it('pass promtool check rules', () => {
    const run = spawnSync(PROMTOOL, ['check', 'rules', file(RULES)], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('pass promtool check config, whose jobs are the ones the rules name', () => {
    const run = spawnSync(PROMTOOL, ['check', 'config', '--syntax-only', file(SCRAPE_CONFIG)], { encoding: 'utf8' });
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    const config = parse(readFileSync(file(SCRAPE_CONFIG), 'utf8')) as { scrape_configs: { job_name: string }[]; rule_files: string[] };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const jobs = new Set(config.scrape_configs.map((job) => job.job_name));
    for (const { where, expr } of expressions()) {
      for (const [, job] of expr.matchAll(/\bjob=~?"([^"]+)"/g)) {
        expect(
          [...jobs].some((name) => new RegExp(`^(?:${job})$`).test(name)),
          `${where}: job "${job}" is a scrape job`,
        ).toBe(true);
      }
    }
  });
});

describe('the Grafana dashboard', () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    gridPos: { h: number; w: number; x: number; y: number };
    datasource?: { uid: string };
    targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  }
  const dashboard = JSON.parse(readFileSync(file(DASHBOARD), 'utf8')) as {
    uid: string;
    panels: Panel[];
    templating: { list: { name: string; type: string; query: string }[] };
  };

  it('gives every panel its own id and a place within the 24-column grid', () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { title, gridPos } of dashboard.panels) expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
  });

  it('queries only the Prometheus data source the importer picks', () => {
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });
});

describe('every metric the dashboard and the rules use', () => {
  // `up` is Prometheus's own, one per target.
  const names = new Map([...exported(), ['up', new Set<string>()]]);

  it('is one Ferry exports', () => {
    const used = expressions();
    expect(used.length).toBeGreaterThan(20);
    for (const { where, expr } of used) {
      const metrics = [...expr.matchAll(/\b((?:ferry|process|nodejs)_[a-z0-9_]+|up(?=\{))\b/g)].map((match) => match[1]!);
      expect(metrics.length, `${where} uses a metric`).toBeGreaterThan(0);
      for (const metric of metrics) expect(names.has(metric), `${where}: ${metric}`).toBe(true);
    }
  });

  it('is selected and grouped only by labels it has', () => {
    for (const { where, expr } of expressions()) {
      for (const [, metric, matchers] of expr.matchAll(/\b((?:ferry|process|nodejs)_[a-z0-9_]+)\{([^}]*)\}/g)) {
        for (const [, label] of matchers!.matchAll(/([a-z_]+)\s*(?:=|!=|=~|!~)\s*"/g)) {
          expect(TARGET_LABELS.has(label!) || names.get(metric!)?.has(label!), `${where}: ${metric} has no label ${label}`).toBe(true);
        }
      }
      const known = new Set([...TARGET_LABELS, ...[...names.values()].flatMap((labels) => [...labels])]);
      for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of list!.split(',').map((l) => l.trim())) expect(known.has(label), `${where}: by (${label})`).toBe(true);
      }
    }
  });
});

describe("Ferry's metric names", () => {
  it('follow the Prometheus conventions promtool checks', async () => {
    for (const registry of [worker.registry, api.registry]) {
      const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
      // prom-client's own nodejs_* gauges end in _total; that is theirs to change.
      const complaints = `${run.stdout}${run.stderr}`.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('nodejs_'));
      expect(complaints).toEqual([]);
    }
  });

  it('all start with ferry_, and only counters end in _total', () => {
    for (const registry of [worker.registry, api.registry]) {
      for (const metric of registry.getMetricsAsArray()) {
        const { name, type } = metric as unknown as { name: string; type: string };
        if (/^(process|nodejs)_/.test(name)) continue;
        expect(name).toMatch(/^ferry_[a-z0-9_]+$/);
        expect(name.endsWith('_total'), name).toBe(type === 'counter');
      }
    }
  });
});
