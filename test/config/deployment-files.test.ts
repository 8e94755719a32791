import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, EnvSchema, loadConfig } from '@ferry/core';
import { WORKER_NODE_FLAGS } from '@ferry/worker';

// The deployment files are hand-written next to a schema that changes; these tests
// read the real files so that a renamed variable or script breaks here, not in production.

const root = new URL('../../', import.meta.url);
const read = (relative: string): string => readFileSync(new URL(relative, root), 'utf8');
const known = new Set(CONFIG_VARIABLES);

/** The worker interrupts downloads at the shutdown deadline, then gives itself this long to exit (apps/worker/src/main.ts). */
const WORKER_FORCED_EXIT_MS = 5000;

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | (string | { path: string; required?: boolean })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  healthcheck?: Healthcheck;
  deploy?: { replicas?: number };
  depends_on?: string[] | Record<string, { condition?: string }>;
  stop_grace_period?: string;
  restart?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const services = Object.entries(compose.services);
// Services built from the Dockerfile run Ferry's code; the others (redis) run someone else's.
const ferryServices = services.filter(([, service]) => service.build !== undefined);

function words(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}

function environmentOf(service: Service): Record<string, string> {
  const { environment } = service;
  if (environment === undefined) return {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const at = entry.indexOf('=');
        return at === -1 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, value === null ? '' : String(value)]));
}

/** The env files a service reads, in Compose's long form. */
function envFilesOf(service: Service): { path: string; required: boolean }[] {
  const files = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  return files.map((file) => (typeof file === 'string' ? { path: file, required: true } : { path: file.path, required: file.required ?? true }));
}

/**
 * What compose sets for the containers whatever .env says, each for a reason of the
 * deployment: where Redis and the storage volume are, listening beyond the container's
 * loopback, and the drain that stop_grace_period is sized for.
 */
const COMPOSE_OWNED = new Set([
  'REDIS_URL',
  'FERRY_REDIS_EVICTION_CHECK',
  'FERRY_API_HOST',
  'FERRY_STORAGE',
  'FERRY_S3_ENDPOINT',
  'FERRY_S3_REGION',
  'FERRY_S3_FORCE_PATH_STYLE',
  'FERRY_SHUTDOWN_DEADLINE_MS',
]);

/** Not Ferry's: the AWS SDK's credential chain reads them, as it would on AWS. */
const AWS_CHAIN_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);

/** Services that run once and exit (the bucket maker): every service that needs them waits for their success. */
const oneShots = services.filter(
  ([name, service]) =>
    service.restart === 'no' &&
    services.some(
      ([, other]) => (other.depends_on as Record<string, { condition?: string }> | undefined)?.[name]?.condition === 'service_completed_successfully',
    ),
);

// Variables with a format of their own get a stand-in in that format.
const STAND_INS: Record<string, string> = { FERRY_API_KEYS: `stand-in:${'0'.repeat(64)}` };

/** Resolves Compose's ${VAR} forms: defaults are used, required or plain variables get a stand-in value. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z0-9_]+)(?:(:?[-?])([^}]*))?\}/g, (_match, name: string, operator: string | undefined, rest: string) =>
      operator?.endsWith('-') ? rest : (STAND_INS[name] ?? `stand-in-for-${name}`),
    )
    .replace(/\$\$/g, '$');
}

/** A service's environment as Compose would hand it over, with stand-ins for what the caller must set. */
function interpolatedEnvironmentOf(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(environmentOf(service)).map(([key, value]) => [key, interpolate(value)]));
}

function mounts(service: Service): { source: string | undefined; target: string | undefined }[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return { source: volume.source, target: volume.target };
    const [source, target] = volume.split(':');
    return target === undefined ? { source: undefined, target: source } : { source, target };
  });
}

function durationMs(value: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|m|s)/g)];
  expect(parts.map((part) => part[0]).join(''), `"${value}" is a Compose duration`).toBe(value);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * (units[unit ?? ''] ?? NaN), 0);
}

function workspaceManifests(): Map<string, { dir: string; scripts: Record<string, string> }> {
  const rootManifest = JSON.parse(read('package.json')) as { workspaces: string[] };
  const dirs = rootManifest.workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(new URL(pattern.slice(0, -1), root), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => `${pattern.slice(0, -1)}${entry.name}`)
      : [pattern],
  );
  const manifests = new Map<string, { dir: string; scripts: Record<string, string> }>();
  for (const dir of ['.', ...dirs]) {
    if (!existsSync(new URL(`${dir}/package.json`, root))) continue;
    const manifest = JSON.parse(read(`${dir}/package.json`)) as { name: string; scripts?: Record<string, string> };
    manifests.set(manifest.name, { dir, scripts: manifest.scripts ?? {} });
  }
  return manifests;
}

const BUILT_FILE = /^(?:\.\/)?((?:apps|packages)\/[^/]+)\/dist\/(.+)\.js$/;

/**
 * What a command runs, each with whether it exists: built files map back to their
 * TypeScript source, and `npm start` / `npm run x` (with -w) to a package.json script.
 */
function targetsOf(command: string[]): { target: string; exists: boolean }[] {
  const targets: { target: string; exists: boolean }[] = [];
  for (const word of command) {
    const built = BUILT_FILE.exec(word);
    if (built) {
      const source = `${built[1]}/src/${built[2]}.ts`;
      targets.push({ target: `${word} (from ${source})`, exists: existsSync(new URL(source, root)) });
    }
  }
  if (command[0] === 'npm') {
    const args = command.slice(1);
    let workspace: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] ?? '';
      if (arg === '-w' || arg === '--workspace') workspace = args[++i];
      else if (arg.startsWith('--workspace=')) workspace = arg.slice('--workspace='.length);
      else if (!arg.startsWith('-')) rest.push(arg);
    }
    const script = rest[0] === 'run' || rest[0] === 'run-script' ? rest[1] : rest[0];
    const manifests = workspaceManifests();
    const owner = workspace === undefined ? [...manifests.values()].find((m) => m.dir === '.') : manifests.get(workspace);
    targets.push({
      target: `npm script "${script}" of ${workspace ?? 'the root package'}`,
      exists: script !== undefined && owner?.scripts[script] !== undefined,
    });
  }
  return targets;
}

describe('docker-compose.yml', () => {
  it('runs only built files whose source exists, or npm scripts that exist', () => {
    for (const [name, service] of services) {
      for (const { target, exists } of targetsOf([...words(service.entrypoint), ...words(service.command)])) {
        expect(exists, `service ${name} runs ${target}, which does not exist`).toBe(true);
      }
    }
  });

  it('gives every service built from the Dockerfile a command that names what it runs', () => {
    expect(ferryServices.map(([name]) => name).sort()).toEqual(['api', 'worker']);
    for (const [name, service] of ferryServices) {
      expect(targetsOf([...words(service.entrypoint), ...words(service.command)]), `service ${name}`).not.toHaveLength(0);
    }
  });

  it('sets only variables the config schema knows in the services built from the Dockerfile (and the AWS credentials)', () => {
    for (const [name, service] of ferryServices) {
      for (const variable of Object.keys(environmentOf(service))) {
        expect(known.has(variable) || AWS_CHAIN_VARIABLES.has(variable), `service ${name} sets ${variable}, which config.ts does not know`).toBe(true);
      }
    }
  });

  it('sets values the config schema accepts', () => {
    for (const [name, service] of ferryServices) {
      expect(() => loadConfig(interpolatedEnvironmentOf(service), '/app'), `service ${name}`).not.toThrow();
    }
  });

  it('passes every variable of the config schema from .env to the api and the workers, but those compose owns', () => {
    for (const name of ['api', 'worker']) {
      const service = compose.services[name] ?? {};
      // Optional: `docker compose up` with every setting in the shell's environment needs no .env.
      expect(envFilesOf(service), `service ${name} reads .env if there is one`).toContainEqual({ path: '.env', required: false });
      const environment = environmentOf(service);
      for (const variable of CONFIG_VARIABLES) {
        const value = environment[variable];
        // Set from the variable of the same name (e.g. with a :? message) still passes it on.
        const passedOn = value === undefined || new RegExp(`^\\$\\{${variable}(?:[:?-][^}]*)?\\}$`).test(value);
        expect(passedOn || COMPOSE_OWNED.has(variable), `service ${name} overrides ${variable} from .env`).toBe(true);
      }
    }
  });

  it('refuses to start the api without a dashboard password', () => {
    expect(environmentOf(compose.services['api'] ?? {})['FERRY_DASHBOARD_PASSWORD']).toMatch(/^\$\{FERRY_DASHBOARD_PASSWORD:\?.+\}$/);
  });

  it('runs redis with an append-only file and no eviction', () => {
    const command = words(compose.services['redis']?.command);
    const option = (flag: string) => command[command.indexOf(flag) + 1];
    expect(command).toContain('--appendonly');
    expect(option('--appendonly')).toBe('yes');
    expect(command).toContain('--maxmemory-policy');
    expect(option('--maxmemory-policy')).toBe('noeviction');
  });

  it('keeps redis data on a named volume', () => {
    const data = mounts(compose.services['redis'] ?? {}).find((mount) => mount.target === '/data');
    expect(data?.source).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
  });

  it('starts workers with the Node flags npm start gives them', () => {
    const command = compose.services['worker']?.command;
    for (const flag of WORKER_NODE_FLAGS) expect(command, `the worker command has ${flag}`).toContain(flag);
  });

  it('runs at least two workers', () => {
    expect(compose.services['worker']?.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('stores in the MinIO service, so the api and the workers share no volume', () => {
    const minio = compose.services['minio'] ?? {};
    expect(minio.image, 'the minio service runs MinIO').toMatch(/^minio\/minio:/);
    for (const name of ['api', 'worker']) {
      const service = compose.services[name] ?? {};
      const config = loadConfig(interpolatedEnvironmentOf(service), '/app');
      expect(config.storage, `service ${name} stores in S3`).toBe('s3');
      expect(config.s3?.endpoint, `service ${name} reaches the minio service`).toBe('http://minio:9000');
      expect(config.s3?.forcePathStyle, `service ${name} addresses MinIO by path`).toBe(true);
      expect(mounts(service), `service ${name} mounts no volume`).toEqual([]);
    }
  });

  it('keeps MinIO data on a named volume', () => {
    const minio = compose.services['minio'] ?? {};
    const dataDir = words(minio.command)[words(minio.command).indexOf('server') + 1];
    const data = mounts(minio).find((mount) => mount.target === dataDir);
    expect(data?.source, `minio mounts a volume at ${dataDir}`).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
  });

  it('creates the bucket the api and the workers use before they start', () => {
    const bucket = compose.services['bucket'] ?? {};
    expect(words(bucket.command).join(' ')).toMatch(/mc mb --ignore-existing "ferry\/\$\$BUCKET"/);
    const made = interpolate(environmentOf(bucket)['BUCKET'] ?? '');
    for (const name of ['api', 'worker']) {
      const service = compose.services[name] ?? {};
      expect(interpolate(environmentOf(service)['FERRY_S3_BUCKET'] ?? ''), `service ${name} uses the bucket made`).toBe(made);
      const dependsOn = service.depends_on as Record<string, { condition?: string }> | undefined;
      expect(dependsOn?.['bucket']?.condition, `service ${name} waits for the bucket`).toBe('service_completed_successfully');
      expect(dependsOn?.['minio']?.condition, `service ${name} waits for minio`).toBe('service_healthy');
    }
  });

  it("gives the api and the workers MinIO's credentials through the AWS SDK's own variables", () => {
    const minio = environmentOf(compose.services['minio'] ?? {});
    for (const name of ['api', 'worker', 'bucket']) {
      const env = environmentOf(compose.services[name] ?? {});
      const [user, password] =
        name === 'bucket' ? [env['MINIO_ROOT_USER'], env['MINIO_ROOT_PASSWORD']] : [env['AWS_ACCESS_KEY_ID'], env['AWS_SECRET_ACCESS_KEY']];
      expect(user, `service ${name}`).toBe(minio['MINIO_ROOT_USER']);
      expect(password, `service ${name}`).toBe(minio['MINIO_ROOT_PASSWORD']);
    }
    // No default: a password must be chosen, not shipped.
    expect(minio['MINIO_ROOT_PASSWORD']).toMatch(/^\$\{MINIO_ROOT_PASSWORD:\?.+\}$/);
  });

  it('gives every long-running service a healthcheck', () => {
    expect(oneShots.map(([name]) => name)).toEqual(['bucket']);
    for (const [name, service] of services.filter((entry) => !oneShots.includes(entry))) {
      expect(service.healthcheck?.disable, `service ${name}`).not.toBe(true);
      expect(words(service.healthcheck?.test), `service ${name} has a healthcheck`).not.toHaveLength(0);
    }
  });

  it('checks the api through /readyz', () => {
    expect(words(compose.services['api']?.healthcheck?.test).join(' ')).toContain('/readyz');
  });

  it('starts the api and the workers only once redis is healthy', () => {
    for (const name of ['api', 'worker']) {
      const dependsOn = compose.services[name]?.depends_on;
      expect(Array.isArray(dependsOn), `service ${name} uses the long depends_on form`).toBe(false);
      expect((dependsOn as Record<string, { condition?: string }> | undefined)?.['redis']?.condition, `service ${name}`).toBe('service_healthy');
    }
  });

  it('gives workers longer to stop than the shutdown deadline and the forced exit after it', () => {
    const worker = compose.services['worker'] ?? {};
    const deadlineMs = loadConfig(interpolatedEnvironmentOf(worker), '/app').worker.shutdownDeadlineMs;
    expect(worker.stop_grace_period, 'the worker sets stop_grace_period').toBeDefined();
    expect(durationMs(worker.stop_grace_period ?? '')).toBeGreaterThan(deadlineMs + WORKER_FORCED_EXIT_MS);
  });
});

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with comments dropped and continuation lines joined. */
function instructions(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n');
  return logical
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const steps = instructions(read('Dockerfile'));
  const stageStarts = steps.flatMap((step, index) => (step.keyword === 'FROM' ? [index] : []));
  const finalStage = steps.slice(stageStarts.at(-1) ?? 0);

  it('builds in one stage and runs from another', () => {
    expect(stageStarts.length).toBeGreaterThanOrEqual(2);
  });

  it('copies only from stages defined earlier', () => {
    const earlier: string[] = [];
    for (const step of steps) {
      if (step.keyword === 'FROM') {
        const alias = /\sAS\s+(\S+)\s*$/i.exec(` ${step.args}`)?.[1];
        earlier.push(alias?.toLowerCase() ?? String(earlier.length));
      }
      const from = /--from=(\S+)/.exec(step.args)?.[1];
      if (step.keyword === 'COPY' && from !== undefined) {
        const stage = /^\d+$/.test(from) ? Number(from) < earlier.length - 1 : earlier.slice(0, -1).includes(from.toLowerCase());
        expect(stage, `COPY --from=${from} names an earlier stage`).toBe(true);
      }
    }
  });

  it("copies every workspace manifest before each npm ci, as npm ci needs the lockfile's whole workspace tree", () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(new URL(pattern.slice(0, -1), root), { withFileTypes: true })
            .filter((entry) => entry.isDirectory() && existsSync(new URL(`${pattern.slice(0, -1)}${entry.name}/package.json`, root)))
            .map((entry) => `${pattern.slice(0, -1)}${entry.name}`)
        : [pattern],
    );
    for (const [index, step] of steps.entries()) {
      if (step.keyword !== 'RUN' || !/\bnpm ci\b/.test(step.args)) continue;
      const stage = steps.slice(0, index).findLastIndex((s) => s.keyword === 'FROM');
      const copied = steps
        .slice(stage, index)
        .filter((s) => s.keyword === 'COPY' && !s.args.includes('--from='))
        .map((s) => s.args);
      for (const workspace of workspaces) {
        expect(
          copied.some((args) => args.includes(`${workspace}/package.json`)),
          `${workspace}/package.json is copied before "${step.args}"`,
        ).toBe(true);
      }
    }
  });

  it('runs the final stage as the node user', () => {
    expect(finalStage.filter((step) => step.keyword === 'USER').at(-1)?.args).toBe('node');
  });

  it('sets only variables the config schema knows in the final stage', () => {
    const names = finalStage
      .filter((step) => step.keyword === 'ENV')
      .flatMap((step) =>
        step.args.includes('=') ? [...step.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]) : [step.args.split(/\s+/)[0]],
      );
    expect(names).toContain('NODE_ENV');
    for (const name of names) expect(known.has(name ?? ''), `ENV ${name} is not in config.ts`).toBe(true);
  });

  it('runs, by default, a built file whose source exists', () => {
    const cmd = finalStage.filter((step) => step.keyword === 'CMD').at(-1)?.args ?? '';
    const command = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : words(cmd);
    const targets = targetsOf(command);
    expect(targets).not.toHaveLength(0);
    for (const { target, exists } of targets) expect(exists, `CMD runs ${target}`).toBe(true);
  });
});

describe('package-lock.json', () => {
  it('is one npm ci accepts (the Dockerfile installs with it)', () => {
    // A dry run checks the lockfile against every manifest without touching node_modules or the network.
    const run = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
      cwd: fileURLToPath(root),
      encoding: 'utf8',
    });
    expect(
      run.stderr
        .split('\n')
        .filter((line) => /npm error/.test(line))
        .slice(0, 5),
      'npm ci --dry-run errors',
    ).toEqual([]);
    expect(run.status).toBe(0);
  }, 60_000);
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output and local secrets out of the build context', () => {
    const patterns = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const needed of ['node_modules', 'dist', '.env', '.ferry', '.git']) {
      expect(
        patterns.some((pattern) => pattern === needed || pattern === `**/${needed}`),
        `.dockerignore excludes ${needed}`,
      ).toBe(true);
    }
  });
});

describe('.env.example', () => {
  const lines = read('.env.example').split('\n');
  const VARIABLE_LINE = /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/;
  const entries = lines.flatMap((line, index) => {
    const match = VARIABLE_LINE.exec(line);
    return match ? [{ name: match[1] ?? '', value: match[2] ?? '', index }] : [];
  });

  it('lists every variable the config schema knows, once each, in schema order', () => {
    expect(entries.map((entry) => entry.name)).toEqual([...CONFIG_VARIABLES]);
  });

  it('mentions no variable the config schema does not know', () => {
    const mentioned = new Set(read('.env.example').match(/\b(?:FERRY_[A-Z0-9_]+|REDIS_[A-Z0-9_]+|NODE_ENV)\b/g));
    expect([...mentioned].filter((name) => !known.has(name))).toEqual([]);
  });

  it('explains each variable in a comment right above it', () => {
    for (const { name, index } of entries) {
      const above = lines[index - 1] ?? '';
      expect(above.startsWith('#') && !VARIABLE_LINE.test(above), `${name} has a comment line above it`).toBe(true);
    }
  });

  it('leaves every variable commented out, so copying the file changes nothing', () => {
    for (const { name, index } of entries) expect(lines[index]?.startsWith('# '), name).toBe(true);
  });

  it('shows each default the config schema really uses', () => {
    const defaults = EnvSchema.parse({}) as Record<string, unknown>;
    for (const { name, value } of entries) {
      // An empty value means "not set" to loadConfig.
      const parsed = value === '' ? { success: true as const, data: defaults } : EnvSchema.safeParse({ [name]: value });
      expect(parsed.success, `${name}=${value} is valid`).toBe(true);
      if (defaults[name] !== undefined) {
        expect((parsed.data as Record<string, unknown> | undefined)?.[name], `${name} shows its default`).toEqual(defaults[name]);
      }
    }
  });
});

describe('README.md', () => {
  it('documents every variable the config schema knows', () => {
    const readme = new URL('README.md', root);
    expect(existsSync(readme), 'README.md exists').toBe(true);
    const text = readFileSync(readme, 'utf8');
    const missing = CONFIG_VARIABLES.filter((name) => !text.includes(`\`${name}\``));
    expect(missing, 'variables missing from the README').toEqual([]);
  });
});
