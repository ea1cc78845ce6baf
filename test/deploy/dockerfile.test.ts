// The Dockerfile read as data: pinned base, non-root user, node as PID 1, labels, and build
// steps that scripts/image-recipe.sh replays word for word (CI runs that script, since no
// container engine is available there).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartDir, defaultValues, readText, readYaml, repoRoot } from './chart.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly stage: string;
}

/** Splits a Dockerfile into instructions: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    if (raw.trimEnd().endsWith('\\')) {
      current += `${raw.trimEnd().slice(0, -1)} `;
      continue;
    }
    current += raw;
    if (current.trim() !== '') logical.push(current.trim().replace(/\s+/g, ' '));
    current = '';
  }
  const instructions: Instruction[] = [];
  let stage = '';
  for (const line of logical) {
    const space = line.indexOf(' ');
    const keyword = line.slice(0, space).toUpperCase();
    const args = line.slice(space + 1);
    if (keyword === 'FROM') stage = /\bAS (\S+)$/i.exec(args)?.[1] ?? '';
    instructions.push({ keyword, args, stage });
  }
  return instructions;
}

const dockerfile = parseDockerfile(readText(join(repoRoot, 'Dockerfile')));
const recipe = readText(join(repoRoot, 'scripts', 'image-recipe.sh'));
const runtime = dockerfile.filter((i) => i.stage === 'runtime');
const last = (keyword: string): Instruction | undefined => runtime.filter((i) => i.keyword === keyword).at(-1);

describe('the Dockerfile parser', () => {
  it('joins continuation lines, drops comments and tracks stages', () => {
    const parsed = parseDockerfile('FROM a AS one\n# note\nRUN x \\\n  && y\nFROM b AS two\nUSER 1\n');
    expect(parsed).toEqual([
      { keyword: 'FROM', args: 'a AS one', stage: 'one' },
      { keyword: 'RUN', args: 'x && y', stage: 'one' },
      { keyword: 'FROM', args: 'b AS two', stage: 'two' },
      { keyword: 'USER', args: '1', stage: 'two' },
    ]);
  });
});

describe('the Dockerfile', () => {
  it('builds in two stages, build and runtime, from one pinned Node 22 slim base', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args);
    expect(froms).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE} AS runtime']);
    const base = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args;
    expect(base).toMatch(/^NODE_IMAGE=node:22\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[a-f0-9]{64})?$/);
  });

  it('runs as a numeric non-root user, the one the chart declares', () => {
    const user = last('USER')?.args ?? '';
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    const [uid] = user.split(':');
    const values = defaultValues() as { iamgate: { securityContext: { runAsUser: number } } };
    expect(String(values.iamgate.securityContext.runAsUser)).toBe(uid);
    const afterUser = runtime.slice(runtime.indexOf(last('USER') as Instruction) + 1);
    expect(afterUser.map((i) => i.keyword)).not.toContain('RUN');
  });

  it('starts node itself as PID 1, in exec form, with the serve command and the mounted config', () => {
    expect(last('ENTRYPOINT')?.args).toBe('["node", "dist/cli/main.js"]');
    expect(last('CMD')?.args).toBe('["serve", "--config", "/etc/iamgate/iamgate.yaml"]');
    expect(runtime.find((i) => i.keyword === 'ENV')?.args).toContain('IAMGATE_CONFIG=/etc/iamgate/iamgate.yaml');
  });

  it('exposes the gateway and operations ports the chart uses', () => {
    const values = defaultValues() as { iamgate: { port: number; opsPort: number } };
    expect(last('EXPOSE')?.args).toBe(`${values.iamgate.port} ${values.iamgate.opsPort}`);
    const env = runtime.find((i) => i.keyword === 'ENV')?.args ?? '';
    expect(env).toContain(`IAMGATE_PORT=${values.iamgate.port}`);
    expect(env).toContain(`IAMGATE_OPS_PORT=${values.iamgate.opsPort}`);
  });

  it('carries OCI labels', () => {
    const labels = runtime.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'created']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('ships production dependencies and compiled output only, from the build stage', () => {
    const fromBuild = runtime.filter((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build'));
    expect(fromBuild.map((i) => i.args.split(' ')[1])).toEqual([
      '/src/package.json',
      '/src/node_modules',
      '/src/dist',
    ]);
    const buildRuns = dockerfile.filter((i) => i.stage === 'build' && i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns.at(-1)).toBe('npm prune --omit=dev');
  });

  it('copies from the build context only paths that exist and that .dockerignore lets in', () => {
    const ignore = readText(join(repoRoot, '.dockerignore')).split('\n').map((l) => l.trim());
    expect(ignore).toContain('*');
    const sources = dockerfile
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(ignore.some((line) => line === `!${source}` || line === `!${source}/`), source).toBe(true);
    }
  });
});

describe('scripts/image-recipe.sh replays the Dockerfile', () => {
  it('runs every RUN step of the build stage, word for word, in the build folder', () => {
    const runs = dockerfile.filter((i) => i.stage === 'build' && i.keyword === 'RUN').map((i) => i.args);
    expect(runs).toEqual(['npm ci --no-audit --no-fund', 'npm run build', 'npm prune --omit=dev']);
    const replayed = [...recipe.matchAll(/^\(cd "\$build" && (.+)\)$/gm)].map((m) => m[1]);
    expect(replayed).toEqual(runs);
  });

  it('copies the same context paths as the Dockerfile', () => {
    const sources = dockerfile
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const source of sources) expect(recipe, source).toContain(source);
  });

  it('starts the server as the entrypoint and command do, as the image user', () => {
    expect(recipe).toContain('node dist/cli/main.js serve --config');
    const uid = (last('USER')?.args ?? '').split(':')[0] ?? '';
    expect(recipe).toContain(`--reuid=${uid} --regid=${uid}`);
  });

  it('checks /healthz and /readyz on the operations port and a clean exit on SIGTERM', () => {
    expect(recipe).toContain('/healthz');
    expect(recipe).toContain('/readyz');
    expect(recipe).toContain('kill -TERM "$server_pid"');
  });
});

describe('the image configuration', () => {
  it('is valid YAML and serves the example policies copied into the image', () => {
    const config = readYaml(join(repoRoot, 'deploy', 'iamgate.yaml'));
    expect(JSON.stringify(config)).toContain('/app/policies');
  });

  it('matches the chart default, so the chart and a bare `docker run` serve the same files', () => {
    const image = readYaml(join(repoRoot, 'deploy', 'iamgate.yaml'));
    const values = readYaml(join(chartDir, 'values.yaml')) as { config: { file: unknown } };
    expect(values.config.file).toEqual(image);
  });
});
