/**
 * Deploy manifests: schema validation and agreement with the apps. Runs no process and needs no Docker engine or
 * cluster (docs/deploy.md, "Checks").
 *
 * - docker-compose.yml (and the debug override) against the Compose Specification's JSON schema (the copy that
 *   the `dclint` package ships), plus the structure the schema cannot express (depends_on targets, healthchecks).
 * - deploy/k8s: the base and the example overlay are rendered by a small kustomize subset (resources, namespace,
 *   images, patches) and every object is validated against the Kubernetes OpenAPI schemas (`kubernetes-models`).
 *   When kubectl is installed, its own `kubectl kustomize` output must equal ours.
 * - Agreement: ports, health paths, commands, env names and shutdown timings in compose, Kubernetes, nginx and the
 *   Dockerfile match what the apps read and serve. Every variable set for an app must be one of
 *   `envNames(<app>ConfigSchema)`, and the values must pass the app's own config validation.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { envNames, loadConfig, type ConfigSchema, type Env } from '@parley/config';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { chatsConfigSchema } from '../../apps/chats/src/config/chats.config.js';
import { HealthController as ChatsHealthController } from '../../apps/chats/src/health/health.controller.js';
import { gatewayConfigSchema } from '../../apps/gateway/src/config/gateway.config.js';
import { HealthController as GatewayHealthController } from '../../apps/gateway/src/health/health.controller.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const path = (rel: string) => join(ROOT, rel);
const text = (rel: string) => readFileSync(path(rel), 'utf8');

// ---------------------------------------------------------------------------------------------------------------
// The apps: what they read, serve and run
// ---------------------------------------------------------------------------------------------------------------

type AppName = 'gateway' | 'chats';

const SCHEMAS: Record<AppName, ConfigSchema> = { gateway: gatewayConfigSchema, chats: chatsConfigSchema };
const ENV_NAMES: Record<AppName, Set<string>> = {
  gateway: new Set(envNames(gatewayConfigSchema)),
  chats: new Set(envNames(chatsConfigSchema)),
};

/** `dist/apps/<app>/<entryFile>.js`: where `nest build` (nest-cli.json, apps/<app>/tsconfig.app.json) puts main. */
function mainScript(app: AppName): string {
  const nest = JSON.parse(text('nest-cli.json')) as { projects: Record<string, { entryFile: string }> };
  const entry = nest.projects[app]?.entryFile;
  if (!entry) throw new Error(`nest-cli.json has no project ${app}`);
  return `dist/apps/${app}/${entry}.js`;
}

const scripts = (JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts;
const scriptArgv = (name: string) => (scripts[name] ?? '').split(/\s+/).filter(Boolean);

const COMMANDS = {
  gateway: scriptArgv('start:gateway'),
  chats: scriptArgv('start:chats'),
  migrate: scriptArgv('migrate'),
};

/** A command with node's own flags dropped: `node --enable-source-maps x.js a` -> `node x.js a`. */
function withoutNodeFlags(argv: readonly string[]): string[] {
  const [bin, ...rest] = argv;
  const firstArg = rest.findIndex((a) => !a.startsWith('-'));
  return [bin ?? '', ...(firstArg < 0 ? [] : rest.slice(firstArg))];
}

/** Which app (or the migration step) a container or compose service runs, from its command. */
function roleOf(command: readonly string[] | undefined): AppName | 'migrate' | undefined {
  if (!command) return undefined;
  const argv = withoutNodeFlags(command);
  for (const role of ['migrate', 'gateway', 'chats'] as const) {
    if (JSON.stringify(argv) === JSON.stringify(COMMANDS[role])) return role;
  }
  return undefined;
}
const appOf = (role: AppName | 'migrate'): AppName => (role === 'migrate' ? 'chats' : role);

/** GET routes of a Nest controller, from its decorators' metadata (no global prefix). */
function getRoutes(controller: abstract new (...args: never[]) => unknown): string[] {
  const base = String(Reflect.getMetadata('path', controller) ?? '');
  const proto = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .map((name) => proto[name])
    .filter((fn): fn is object => typeof fn === 'function' && Reflect.getMetadata('path', fn) !== undefined)
    .filter((fn) => Reflect.getMetadata('method', fn) === 0 /* RequestMethod.GET */)
    .map((fn) => `/${[base, String(Reflect.getMetadata('path', fn))].filter(Boolean).join('/')}`);
}

const HEALTH = { live: '/health/live', ready: '/health/ready' };

/** Socket.IO's heartbeat, from the gateway's adapter: a proxy must not time out a connection sooner. */
function socketIoHeartbeatMs(): number {
  const source = text('apps/gateway/src/realtime/redis-io.adapter.ts');
  const value = (key: string) => {
    const match = new RegExp(`${key}:\\s*([\\d_]+)`).exec(source);
    if (!match?.[1]) throw new Error(`${key} not found in redis-io.adapter.ts: update this test`);
    return Number(match[1].replaceAll('_', ''));
  };
  return value('pingInterval') + value('pingTimeout');
}

/** The app's own validation of an environment: throws ConfigError naming each bad variable. */
function expectValidConfig(app: AppName, env: Env, where: string): void {
  expect(() => loadConfig(SCHEMAS[app], env), where).not.toThrow();
}

function expectKnownEnv(app: AppName, names: Iterable<string>, where: string): void {
  const unknown = [...names].filter((n) => !ENV_NAMES[app].has(n));
  expect(
    unknown,
    `${where} sets variables the ${app} does not read (see envNames(${app}ConfigSchema))`,
  ).toEqual([]);
}

const shutdownTimeoutMs = (env: Env): number =>
  Number(env.SHUTDOWN_TIMEOUT_MS ?? chatsConfigSchema.shutdownTimeoutMs.defaultValue);

// ---------------------------------------------------------------------------------------------------------------
// YAML
// ---------------------------------------------------------------------------------------------------------------

/** YAML with merge keys (`<<: *anchor`), as compose reads it. */
const readYaml = <T>(file: string): T => parse(readFileSync(file, 'utf8'), { merge: true }) as T;

function readYamlDocs<T>(file: string): T[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as T | null;
    })
    .filter((doc): doc is T => doc !== null);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------------------------
// Kustomize, the subset this repository uses
// ---------------------------------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  patches?: Array<{ path?: string; patch?: string; target?: { kind?: string; name?: string } }>;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume']);

/** Renders a kustomization directory: resources (files and directories), patches, images, namespace. */
function kustomize(dir: string): K8sObject[] {
  const k = readYaml<Kustomization>(join(dir, 'kustomization.yaml'));
  const unsupported = Object.keys(k).filter(
    (key) => !['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches'].includes(key),
  );
  if (unsupported.length)
    throw new Error(`${dir}: extend this test's kustomize for ${unsupported.join(', ')}`);

  const objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const file = join(dir, resource);
    objects.push(...(statSync(file).isDirectory() ? kustomize(file) : readYamlDocs<K8sObject>(file)));
  }
  for (const patch of k.patches ?? []) {
    const docs = patch.path
      ? readYamlDocs<unknown>(join(dir, patch.path))
      : [parse(patch.patch ?? '') as unknown];
    for (const doc of docs) {
      if (Array.isArray(doc)) {
        const targets = select(objects, patch.target, dir);
        for (const target of targets) for (const op of doc as JsonPatchOp[]) jsonPatch(target, op);
      } else {
        const smp = doc as K8sObject;
        const targets = select(objects, patch.target ?? { kind: smp.kind, name: smp.metadata.name }, dir);
        for (const target of targets) strategicMerge(target, smp);
      }
    }
  }
  for (const image of k.images ?? []) {
    for (const container of objects.flatMap(containersOf)) {
      const ref = parseImage(container.image ?? '');
      if (ref.name !== image.name) continue;
      const name = image.newName ?? ref.name;
      container.image = image.digest
        ? `${name}@${image.digest}`
        : `${name}${(image.newTag ?? ref.tag) ? `:${image.newTag ?? ref.tag}` : ''}`;
    }
  }
  if (k.namespace) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  return objects;
}

function select(objects: K8sObject[], target: { kind?: string; name?: string } | undefined, dir: string) {
  if (!target) throw new Error(`${dir}: a JSON6902 patch needs a target`);
  const found = objects.filter(
    (o) => (!target.kind || o.kind === target.kind) && (!target.name || o.metadata.name === target.name),
  );
  if (found.length === 0)
    throw new Error(`${dir}: no resource matches patch target ${JSON.stringify(target)}`);
  return found;
}

function jsonPatch(doc: object, { op, path: pointer, value }: JsonPatchOp): void {
  const keys = pointer
    .split('/')
    .slice(1)
    .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
  const last = keys.pop();
  if (last === undefined) throw new Error(`bad JSON patch path ${pointer}`);
  let parent: unknown = doc;
  for (const key of keys) {
    parent = (parent as Record<string, unknown>)[key];
    if (typeof parent !== 'object' || parent === null)
      throw new Error(`JSON patch path ${pointer} not found`);
  }
  if ((op === 'remove' || op === 'replace') && !(last in (parent as object))) {
    throw new Error(`JSON patch ${op}: ${pointer} does not exist`);
  }
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (op === 'add') parent.splice(index, 0, structuredClone(value));
    else if (op === 'replace') parent.splice(index, 1, structuredClone(value));
    else if (op === 'remove') parent.splice(index, 1);
    else throw new Error(`JSON patch op ${op} is not supported here`);
    return;
  }
  const map = parent as Record<string, unknown>;
  if (op === 'add' || op === 'replace') map[last] = structuredClone(value);
  else if (op === 'remove') delete map[last];
  else throw new Error(`JSON patch op ${op} is not supported here`);
}

/** Strategic merge for maps and name-keyed lists (containers, env, volumes); other lists are replaced. */
function strategicMerge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value === null) {
      delete target[key];
    } else if (isObject(current) && isObject(value)) {
      strategicMerge(current, value);
    } else if (
      Array.isArray(current) &&
      Array.isArray(value) &&
      value.every((v) => isObject(v) && 'name' in v)
    ) {
      for (const item of value as Array<Record<string, unknown>>) {
        const existing = current.find((c) => isObject(c) && c.name === item.name) as
          Record<string, unknown> | undefined;
        if (existing) strategicMerge(existing, item);
        else current.push(structuredClone(item));
      }
    } else {
      target[key] = structuredClone(value);
    }
  }
}

function parseImage(image: string): { name: string; tag?: string } {
  const withoutDigest = image.split('@')[0] ?? '';
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/')
    ? { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) }
    : { name: withoutDigest };
}

function podTemplateOf(o: K8sObject): IPodTemplateSpec | undefined {
  const spec = o.spec as { template?: IPodTemplateSpec } | undefined;
  return spec?.template;
}
const containersOf = (o: K8sObject): IContainer[] => {
  const pod = podTemplateOf(o)?.spec;
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
};

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes schemas
// ---------------------------------------------------------------------------------------------------------------

type Model = new (data: never) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
};

function validateK8s(o: K8sObject): void {
  const model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!model)
    throw new Error(`${o.apiVersion} ${o.kind}: no schema registered in this test (add it to MODELS)`);
  try {
    new model(structuredClone(o) as never).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes: the rendered overlay
// ---------------------------------------------------------------------------------------------------------------

const BASE_DIR = path('deploy/k8s/base');
/** Whether kubectl is installed: then its own `kubectl kustomize` output must equal our rendering. */
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const OVERLAY_DIR = path('deploy/k8s/overlays/example');

const base = kustomize(BASE_DIR);
const overlay = kustomize(OVERLAY_DIR);

const ofKind = <T>(objects: K8sObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as unknown as T[];
const named = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);

/** The environment a container gets from env, envFrom ConfigMaps/Secrets and references (placeholder values). */
function containerEnv(objects: K8sObject[], c: IContainer, where: string): Env {
  const data = (kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> => {
    const o = named(objects, kind, name) as {
      data?: Record<string, string>;
      stringData?: Record<string, string>;
    };
    expect(o, `${where}: ${kind} ${name} exists`).toBeDefined();
    const values = { ...o.stringData };
    for (const [k, v] of Object.entries(o.data ?? {})) {
      values[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    return values;
  };
  const env: Env = {};
  for (const from of c.envFrom ?? []) {
    const source = from.configMapRef
      ? data('ConfigMap', from.configMapRef.name ?? '')
      : data('Secret', from.secretRef?.name ?? '');
    for (const [k, v] of Object.entries(source)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom;
    if (ref?.configMapKeyRef || ref?.secretKeyRef) {
      const [kind, sel] = ref.configMapKeyRef
        ? (['ConfigMap', ref.configMapKeyRef] as const)
        : (['Secret', ref.secretKeyRef!] as const);
      const value = data(kind, sel.name ?? '')[sel.key];
      expect(value, `${where}: ${e.name} refers to key ${sel.key} of ${kind} ${sel.name}`).toBeDefined();
      env[e.name] = value;
    } else if (ref?.fieldRef || ref?.resourceFieldRef) {
      env[e.name] = `${where}-from-${ref.fieldRef?.fieldPath ?? 'resources'}`;
    } else {
      env[e.name] = e.value ?? '';
    }
  }
  return env;
}

function probePort(probe: IProbe | undefined, c: IContainer): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) {
  return (
    !!selector &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => labels?.[k] === v)
  );
}

/** Seconds of the container's preStop `sleep N` (exec or the sleep action). */
function preStopSeconds(c: IContainer): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const [cmd, seconds] = preStop?.exec?.command ?? [];
  return cmd === 'sleep' ? Number(seconds) : 0;
}

describe('the apps', () => {
  it('package.json starts the built apps where `nest build` puts them, and migrates with the chats app', () => {
    expect(COMMANDS.gateway).toEqual(['node', mainScript('gateway')]);
    expect(COMMANDS.chats).toEqual(['node', mainScript('chats')]);
    expect(COMMANDS.migrate).toEqual(['node', mainScript('chats'), 'migrate']);
  });

  it('both apps serve the health paths the manifests probe', () => {
    for (const controller of [GatewayHealthController, ChatsHealthController]) {
      expect(getRoutes(controller)).toEqual(expect.arrayContaining([HEALTH.live, HEALTH.ready]));
    }
    // The gateway's global /api prefix must leave them out: its OpenAPI document (kept current by
    // test/e2e/build-artifacts.e2e-spec.ts) lists the paths as served.
    const openapi = JSON.parse(text('docs/openapi.json')) as { paths: Record<string, { get?: unknown }> };
    expect(openapi.paths[HEALTH.live]?.get).toBeDefined();
    expect(openapi.paths[HEALTH.ready]?.get).toBeDefined();
  });
});

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('every object of the base and of the example overlay is valid against the Kubernetes schemas', () => {
    expect(base.length).toBeGreaterThan(0);
    for (const o of [...base, ...overlay]) validateK8s(o);
    const kinds = new Set(overlay.map((o) => o.kind));
    for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget']) {
      expect(kinds, kind).toContain(kind);
    }
    for (const kind of ['ConfigMap', 'Secret', 'Ingress', 'Job']) expect(kinds, kind).toContain(kind);
  });

  it('the base is namespace-agnostic; the overlay sets the namespace and the image of every container', () => {
    expect(readYaml<Kustomization>(join(BASE_DIR, 'kustomization.yaml')).namespace).toBeUndefined();
    for (const o of base) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBeUndefined();
    for (const c of base.flatMap(containersOf)) expect(c.image).toBe('parley:latest');

    const k = readYaml<Kustomization>(join(OVERLAY_DIR, 'kustomization.yaml'));
    for (const o of overlay) {
      if (!CLUSTER_SCOPED.has(o.kind))
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(k.namespace);
    }
    const image = k.images?.find((i) => i.name === 'parley');
    expect(image?.newName).toBeTruthy();
    for (const c of overlay.flatMap(containersOf)) expect(c.image).toBe(`${image?.newName}:${image?.newTag}`);
  });

  it('names no object twice and every reference resolves (Services, HPAs, PDBs, Ingress backends)', () => {
    const ids = overlay.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(ids.length).toBe(new Set(ids).size);
    const deployments = ofKind<IDeployment & K8sObject>(overlay, 'Deployment');
    const podLabels = (d: IDeployment) => d.spec?.template.metadata?.labels;

    for (const svc of ofKind<IService & K8sObject>(overlay, 'Service')) {
      expect(svc.spec?.type ?? 'ClusterIP').toBe('ClusterIP');
      const targets = deployments.filter((d) => matches(svc.spec?.selector, podLabels(d)));
      expect(targets.length, `Service ${svc.metadata.name} selects one Deployment`).toBe(1);
      const container = targets[0]!.spec!.template.spec!.containers[0]!;
      for (const port of svc.spec?.ports ?? []) {
        const target = port.targetPort ?? port.port;
        const containerPort = container.ports?.find((p) => p.name === target || p.containerPort === target);
        expect(containerPort, `Service ${svc.metadata.name} targetPort ${String(target)}`).toBeDefined();
      }
    }
    for (const hpa of ofKind<IHorizontalPodAutoscaler & K8sObject>(overlay, 'HorizontalPodAutoscaler')) {
      const ref = hpa.spec?.scaleTargetRef;
      expect(ref?.kind).toBe('Deployment');
      expect(named(overlay, 'Deployment', ref?.name ?? ''), `HPA ${hpa.metadata.name} target`).toBeDefined();
      expect(hpa.spec?.minReplicas ?? 1).toBeGreaterThanOrEqual(2);
      expect(hpa.spec?.maxReplicas).toBeGreaterThanOrEqual(hpa.spec?.minReplicas ?? 1);
    }
    for (const d of deployments) {
      const name = d.metadata.name;
      expect(matches(d.spec?.selector.matchLabels, podLabels(d)), `${name} selector matches its pods`).toBe(
        true,
      );
      const hpas = ofKind<IHorizontalPodAutoscaler>(overlay, 'HorizontalPodAutoscaler');
      expect(hpas.filter((h) => h.spec?.scaleTargetRef.name === name).length, `${name} has one HPA`).toBe(1);
      // The HPA owns the replica count: a `replicas` here would be reset by every `kubectl apply`.
      expect(d.spec?.replicas, `${name} leaves replicas to its HPA`).toBeUndefined();
      const pdbs = ofKind<IPodDisruptionBudget>(overlay, 'PodDisruptionBudget');
      expect(
        pdbs.filter((p) => matches(p.spec?.selector?.matchLabels, podLabels(d))).length,
        `${name} has one PodDisruptionBudget`,
      ).toBe(1);
    }
    for (const ingress of ofKind<IIngress & K8sObject>(overlay, 'Ingress')) {
      for (const p of ingress.spec?.rules?.flatMap((r) => r.http?.paths ?? []) ?? []) {
        const backend = p.backend.service;
        const svc = named(overlay, 'Service', backend?.name ?? '') as IService | undefined;
        expect(svc, `Ingress backend ${backend?.name}`).toBeDefined();
        const port = svc?.spec?.ports?.find(
          (sp) => sp.name === backend?.port?.name || sp.port === backend?.port?.number,
        );
        expect(port, `Ingress backend ${backend?.name} port`).toBeDefined();
      }
    }
  });

  it('every container is locked down and sized', () => {
    for (const o of overlay.filter((x) => podTemplateOf(x))) {
      const pod = podTemplateOf(o)!.spec!;
      expect(pod.securityContext?.runAsNonRoot, `${o.metadata.name} pod runAsNonRoot`).toBe(true);
      // The image's user is numeric (Dockerfile USER 1000:1000); say so here too, so the kubelet can check it.
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      for (const c of containersOf(o)) {
        const where = `${o.metadata.name}/${c.name}`;
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.runAsNonRoot, where).toBe(true);
        for (const kind of ['requests', 'limits'] as const) {
          expect(c.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeDefined();
          expect(c.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeDefined();
        }
      }
    }
  });

  it('Deployments agree with the apps: command, env names and values, ports, probes, rollout and shutdown', () => {
    const roles = new Set<string>();
    for (const d of ofKind<IDeployment & K8sObject>(overlay, 'Deployment')) {
      const pod = d.spec!.template.spec!;
      expect(pod.containers.length, d.metadata.name).toBe(1);
      const c = pod.containers[0]!;
      const where = `Deployment ${d.metadata.name}`;
      const role = roleOf(c.command);
      expect(role === 'gateway' || role === 'chats', `${where} runs an app (${c.command?.join(' ')})`).toBe(
        true,
      );
      const app = role as AppName;
      roles.add(app);

      const env = containerEnv(overlay, c, where);
      expectKnownEnv(app, Object.keys(env), where);
      expectValidConfig(app, env, where);

      // Ports: container port == PORT == probe ports == Service targetPort (checked above by name).
      const port = Number(env.PORT ?? SCHEMAS[app].port?.defaultValue);
      expect(
        c.ports?.map((p) => p.containerPort),
        where,
      ).toEqual([port]);
      const routes = getRoutes(app === 'gateway' ? GatewayHealthController : ChatsHealthController);
      const probes = { readinessProbe: HEALTH.ready, livenessProbe: HEALTH.live, startupProbe: HEALTH.live };
      for (const [probe, expected] of Object.entries(probes) as Array<[keyof typeof probes, string]>) {
        if (probe === 'startupProbe' && !c.startupProbe) continue;
        expect(c[probe]?.httpGet?.path, `${where} ${probe}`).toBe(expected);
        expect(routes, `${where} ${probe}: the ${app} serves it`).toContain(expected);
        expect(probePort(c[probe], c), `${where} ${probe} port`).toBe(port);
        expect(c[probe]?.periodSeconds, `${where} ${probe} periodSeconds`).toBeGreaterThan(0);
      }
      // Startup-friendly: liveness waits for the startup probe or at least for a start.
      expect(c.startupProbe ?? c.livenessProbe?.initialDelaySeconds, `${where} startup grace`).toBeTruthy();

      expect(d.spec?.strategy?.type).toBe('RollingUpdate');
      expect(d.spec?.strategy?.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });

      // SIGTERM comes after preStop; the drain takes up to SHUTDOWN_TIMEOUT_MS; SIGKILL comes at the grace period.
      const sleep = preStopSeconds(c);
      expect(sleep, `${where} preStop sleep`).toBeGreaterThanOrEqual(2);
      expect(sleep).toBeLessThanOrEqual(15);
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      expect(grace * 1000, `${where} terminationGracePeriodSeconds`).toBeGreaterThan(
        shutdownTimeoutMs(env) + sleep * 1000,
      );

      if (app === 'chats') expect(env.MIGRATE_ON_START, `${where}: the Job migrates`).toBe('false');
    }
    expect([...roles].sort()).toEqual(['chats', 'gateway']);
  });

  it('the migration Job runs the real migrate command with the chats configuration', () => {
    const jobs = ofKind<IJob & K8sObject>(overlay, 'Job');
    expect(jobs.length).toBe(1);
    const job = jobs[0]!;
    const pod = job.spec!.template.spec!;
    expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
    const c = pod.containers[0]!;
    expect(withoutNodeFlags([...(c.command ?? []), ...(c.args ?? [])])).toEqual(COMMANDS.migrate);
    const env = containerEnv(overlay, c, `Job ${job.metadata.name}`);
    expectKnownEnv('chats', Object.keys(env), `Job ${job.metadata.name}`);
    expectValidConfig('chats', env, `Job ${job.metadata.name}`);
    expect(env.DATABASE_URL).toBeTruthy();
  });

  it('every ConfigMap and Secret key is used by a container (no variable the apps would not see)', () => {
    const used = new Set<string>();
    for (const o of overlay) {
      for (const c of containersOf(o)) {
        for (const from of c.envFrom ?? []) {
          const ref = from.configMapRef
            ? `ConfigMap/${from.configMapRef.name}`
            : `Secret/${from.secretRef?.name}`;
          const source = named(overlay, ref.split('/')[0]!, ref.split('/')[1]!) as
            { data?: Record<string, string>; stringData?: Record<string, string> } | undefined;
          for (const key of Object.keys({ ...source?.data, ...source?.stringData }))
            used.add(`${ref}/${key}`);
        }
        for (const e of c.env ?? []) {
          const cm = e.valueFrom?.configMapKeyRef;
          const secret = e.valueFrom?.secretKeyRef;
          if (cm) used.add(`ConfigMap/${cm.name}/${cm.key}`);
          if (secret) used.add(`Secret/${secret.name}/${secret.key}`);
        }
      }
    }
    for (const o of overlay.filter((x) => x.kind === 'ConfigMap' || x.kind === 'Secret')) {
      const values = o as unknown as { data?: Record<string, string>; stringData?: Record<string, string> };
      for (const key of Object.keys({ ...values.data, ...values.stringData })) {
        expect(used, `${o.kind} ${o.metadata.name} key ${key} is used`).toContain(
          `${o.kind}/${o.metadata.name}/${key}`,
        );
      }
    }
  });

  it('the Ingress keeps Socket.IO working: WebSocket-friendly timeouts and cookie affinity', () => {
    const ingress = ofKind<IIngress & K8sObject>(overlay, 'Ingress');
    expect(ingress.length).toBe(1);
    const annotations = ingress[0]!.metadata?.annotations ?? {};
    const heartbeatS = socketIoHeartbeatMs() / 1000;
    expect(annotations['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${key}`]), key).toBeGreaterThan(heartbeatS);
    }
    const paths = ingress[0]!.spec?.rules?.flatMap((r) => r.http?.paths.map((p) => p.path) ?? []);
    expect(paths).toEqual(expect.arrayContaining(['/api', '/socket.io', '/ws', '/compat']));
  });

  it.skipIf(!kubectl)('our rendering equals `kubectl kustomize` (when kubectl is installed)', () => {
    expectKubectlRendering(BASE_DIR, base);
    expectKubectlRendering(OVERLAY_DIR, overlay);
  });
});

function expectKubectlRendering(dir: string, ours: K8sObject[]): void {
  const out = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  expect(out.status, out.stderr).toBe(0);
  const theirs = parseAllDocuments(out.stdout).map((d) => d.toJS() as K8sObject);
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
  const sort = (list: K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
  expect(sort(ours), relative(ROOT, dir)).toEqual(sort(theirs));
}

const PGBOUNCER_DIR = path('deploy/k8s/overlays/pgbouncer');

describe('Kubernetes: the PgBouncer overlay (deploy/k8s/overlays/pgbouncer)', () => {
  const objects = kustomize(PGBOUNCER_DIR);
  const bouncer = named(objects, 'Deployment', 'parley-pgbouncer') as (IDeployment & K8sObject) | undefined;
  const ini = (
    named(objects, 'ConfigMap', 'parley-pgbouncer') as { data?: Record<string, string> } | undefined
  )?.data?.['pgbouncer.ini'];
  const setting = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, 'm').exec(ini ?? '')?.[1]?.trim();

  it('is valid, in its namespace, and adds a locked-down PgBouncer with a Service and a PDB', () => {
    for (const o of objects) validateK8s(o);
    const ids = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(ids.length).toBe(new Set(ids).size);
    const namespace = readYaml<Kustomization>(join(PGBOUNCER_DIR, 'kustomization.yaml')).namespace;
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) expect(o.metadata.namespace).toBe(namespace);
    expect(bouncer).toBeDefined();
    const pod = bouncer!.spec!.template.spec!;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    const c = pod.containers[0]!;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    for (const kind of ['requests', 'limits'] as const) expect(c.resources?.[kind]?.memory).toBeDefined();
    const labels = bouncer!.spec!.template.metadata?.labels;
    const svc = named(objects, 'Service', 'parley-pgbouncer') as (IService & K8sObject) | undefined;
    expect(matches(svc?.spec?.selector, labels)).toBe(true);
    const pdbs = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(pdbs.filter((p) => matches(p.spec?.selector?.matchLabels, labels))).toHaveLength(1);
    // The Service, the container and the ini agree on the port.
    const port = svc!.spec!.ports![0]!;
    const containerPort = c.ports?.find((p) => p.name === port.targetPort)?.containerPort;
    expect(containerPort).toBe(Number(setting('listen_port')));
    for (const probe of [c.readinessProbe, c.livenessProbe])
      expect(probe?.tcpSocket?.port).toBe(port.targetPort);
  });

  it.skipIf(!kubectl)('renders as `kubectl kustomize` does (when kubectl is installed)', () =>
    expectKubectlRendering(PGBOUNCER_DIR, objects),
  );

  it('pools transactions, and every database name reaches Postgres (the app checks `postgres` exists)', () => {
    expect(setting('pool_mode')).toBe('transaction');
    expect(ini).toMatch(/^\* = host=\S+ port=\d+$/m);
    expect(Number(setting('default_pool_size'))).toBeGreaterThan(0);
  });

  it('the chats pods and the migration Job reach Postgres through it, knowing they do', () => {
    const svc = named(objects, 'Service', 'parley-pgbouncer') as IService & K8sObject;
    const workloads = [named(objects, 'Deployment', 'parley-chats'), named(objects, 'Job', 'parley-migrate')];
    for (const w of workloads) {
      expect(w).toBeDefined();
      const containers = containersOf(w!);
      const main = containers[containers.length - 1]!;
      const where = `${w!.kind} ${w!.metadata.name}`;
      const env = containerEnv(objects, main, where);
      expectKnownEnv('chats', Object.keys(env), where);
      expectValidConfig('chats', env, where);
      expect(env.DATABASE_POOLER, where).toBe('pgbouncer');
      for (const c of containers) {
        const url = new URL(containerEnv(objects, c, where).DATABASE_URL ?? '');
        expect(`${url.hostname}:${url.port}`, `${where}/${c.name}`).toBe(
          `${svc.metadata.name}:${svc.spec!.ports![0]!.port}`,
        );
      }
    }
  });
});

const REDIS_CLUSTER_DIR = path('deploy/k8s/overlays/redis-cluster');

describe('Kubernetes: the Redis Cluster overlay (deploy/k8s/overlays/redis-cluster)', () => {
  const objects = kustomize(REDIS_CLUSTER_DIR);

  it('is valid, and every app container reaches one Redis Cluster with the same RPC shards', () => {
    for (const o of objects) validateK8s(o);
    const seen = new Set<string>();
    // The apps' Deployments (the migration Job needs no Redis).
    for (const w of objects.filter((o) => o.kind === 'Deployment')) {
      // The app's own container (the last one; init containers before it only wait for their turn).
      for (const c of containersOf(w).slice(-1)) {
        const where = `${w.kind} ${w.metadata.name}/${c.name}`;
        const env = containerEnv(objects, c, where);
        const app = w.metadata.name.includes('gateway') ? 'gateway' : 'chats';
        expectKnownEnv(app, Object.keys(env), where);
        expectValidConfig(app, env, where);
        expect(env.REDIS_URL, where).toMatch(/^redis\+cluster:\/\//);
        seen.add(`${env.REDIS_URL} ${env.RPC_STREAM_SHARDS}`);
      }
    }
    expect([...seen]).toHaveLength(1);
  });

  it.skipIf(!kubectl)('renders as `kubectl kustomize` does (when kubectl is installed)', () =>
    expectKubectlRendering(REDIS_CLUSTER_DIR, objects),
  );
});

// ---------------------------------------------------------------------------------------------------------------
// docker compose
// ---------------------------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  ports?: Array<string | { target: number; published?: string | number }>;
  expose?: Array<string | number>;
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  stop_grace_period?: string;
  restart?: string;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

const COMPOSE_FILE = 'docker-compose.yml';
const COMPOSE_DEBUG_FILE = 'deploy/compose/debug-ports.yml';
const compose = readYaml<ComposeFile>(path(COMPOSE_FILE));
const services = Object.entries(compose.services);

/** Compose's interpolation with nothing set in the environment: `${X:-default}` and `${X-default}` -> default. */
function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _name: string, def?: string) => def ?? '')
    .replaceAll('$$', '$');
}

function serviceEnv(s: ComposeService): Env {
  const env: Env = {};
  const entries = Array.isArray(s.environment)
    ? s.environment.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)] as const)
    : Object.entries(s.environment ?? {});
  for (const [k, v] of entries) env[k] = v === null ? undefined : interpolate(String(v));
  return env;
}

const commandOf = (s: ComposeService) => (typeof s.command === 'string' ? s.command.split(/\s+/) : s.command);
const dependsOn = (s: ComposeService): Record<string, { condition: string }> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((d) => [d, { condition: 'service_started' }]))
    : (s.depends_on ?? {});

/** Compose durations: 30s, 1m30s, 500ms. */
function durationMs(value: string | undefined): number {
  if (value === undefined) return 10_000; // Docker's default stop timeout
  let ms = 0;
  for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g)) {
    ms += Number(n) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 }[unit as 'h'];
  }
  return ms;
}

/** The app services: role by command. */
const appServices = services
  .map(([name, s]) => ({ name, s, role: roleOf(commandOf(s)) }))
  .filter((x): x is { name: string; s: ComposeService; role: AppName | 'migrate' } => x.role !== undefined);

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema (and so is the debug override)', () => {
    const require = createRequire(import.meta.url);
    const dclint = dirname(require.resolve('dclint/package.json'));
    const file = join(dclint, 'schemas/compose.schema.json');
    // The spec names its draft-07 meta-schema by its https address, which Ajv knows by the http one: drop it.
    const { $schema: _metaSchema, ...schema } = JSON.parse(readFileSync(file, 'utf8')) as Record<
      string,
      unknown
    >;
    expect(schema.title).toBe('Compose Specification');
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    for (const file of [COMPOSE_FILE, COMPOSE_DEBUG_FILE]) {
      const valid = validate(readYaml(path(file)));
      expect(validate.errors ?? [], `${file}: ${ajv.errorsText(validate.errors)}`).toEqual([]);
      expect(valid).toBe(true);
    }
  });

  it('every service runs an image or a build, and every dependency can be met', () => {
    const appImage = services.find(([, s]) => s.build)?.[1].image;
    for (const [name, s] of services) {
      expect(s.image ?? s.build, `${name}: image or build`).toBeTruthy();
      // Third-party images are pinned to a major version; the app image is built here.
      if (s.image && s.image !== appImage) expect(s.image, name).toMatch(/:[0-9][^:]*$/);
      for (const [dep, { condition }] of Object.entries(dependsOn(s))) {
        const target = compose.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') {
          // A healthcheck of its own, or the app image's HEALTHCHECK (checked with the Dockerfile below).
          const hasCheck =
            target?.healthcheck?.test ?? (target?.image === appImage ? 'HEALTHCHECK' : undefined);
          expect(
            hasCheck && !target?.healthcheck?.disable,
            `${dep} has a healthcheck for ${name}`,
          ).toBeTruthy();
        }
        if (condition === 'service_completed_successfully') {
          expect(target?.restart, `${dep} is one-shot`).toBe('no');
        }
      }
      for (const port of s.ports ?? []) {
        const short = typeof port === 'string' ? port : `${port.published ?? ''}:${port.target}`;
        expect(short, `${name} port`).toMatch(
          /^((\d{1,3}\.){3}\d{1,3}:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/,
        );
      }
      expect(s.env_file, `${name}: env_file would hide variables from this test`).toBeUndefined();
    }
    expect(appImage, 'one service builds the app image').toBeTruthy();
  });

  it('app services agree with the apps: commands, env names and values, ports, migration and shutdown', () => {
    expect(appServices.map((x) => x.role).sort()).toEqual([
      'chats',
      'chats',
      'gateway',
      'gateway',
      'migrate',
    ]);
    for (const { name, s, role } of appServices) {
      const app = appOf(role);
      const env = serviceEnv(s);
      expectKnownEnv(app, Object.keys(env), `compose service ${name}`);
      expectValidConfig(app, env, `compose service ${name}`);
      expect(s.image, name).toBe(services.find(([, x]) => x.build)?.[1].image);

      if (role === 'migrate') {
        expect(withoutNodeFlags(commandOf(s) ?? [])).toEqual(COMMANDS.migrate);
        expect(s.restart).toBe('no');
        continue;
      }
      const port = String(env.PORT ?? SCHEMAS[app].port?.defaultValue);
      expect(s.expose?.map(String), `${name} exposes PORT`).toEqual([port]);
      // nginx fronts the gateways, and nothing reaches the chats services from outside.
      expect(s.ports, `${name} publishes no port (see ${COMPOSE_DEBUG_FILE})`).toBeUndefined();
      expect(s.healthcheck?.disable ?? false, `${name} keeps the image's HEALTHCHECK`).toBe(false);
      expect(
        durationMs(s.stop_grace_period),
        `${name} stop_grace_period > SHUTDOWN_TIMEOUT_MS`,
      ).toBeGreaterThan(shutdownTimeoutMs(env));
      if (app === 'chats') {
        expect(env.MIGRATE_ON_START, name).toBe('false');
        expect(dependsOn(s).migrate?.condition, name).toBe('service_completed_successfully');
      }
    }
  });

  it('the JWT_SECRET default is clearly not for production and can be overridden', () => {
    for (const { name, s } of appServices.filter((x) => x.role === 'gateway')) {
      const raw = (s.environment as Record<string, string>).JWT_SECRET;
      expect(raw, name).toMatch(/^\$\{JWT_SECRET:-[^}]+\}$/);
      expect(interpolate(raw ?? '')).toMatch(/not.for.production|change.?me|insecure|dev/i);
    }
  });

  const composeCli = [['docker', 'compose'], ['docker-compose']].find(
    ([bin, ...args]) => spawnSync(bin!, [...args, 'version'], { encoding: 'utf8' }).status === 0,
  );
  it.skipIf(!composeCli)('`docker compose config` accepts it (when a compose CLI is installed)', () => {
    const [bin, ...args] = composeCli!;
    for (const files of [[COMPOSE_FILE], [COMPOSE_FILE, COMPOSE_DEBUG_FILE]]) {
      const out = spawnSync(bin!, [...args, ...files.flatMap((f) => ['-f', f]), 'config', '-q'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, JWT_SECRET: '' },
      });
      expect(out.status, `${files.join(' + ')}: ${out.stderr}`).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// nginx (compose's load balancer)
// ---------------------------------------------------------------------------------------------------------------

describe('deploy/nginx/nginx.conf', () => {
  const conf = text('deploy/nginx/nginx.conf').replace(/#.*$/gm, '');
  const block = (header: RegExp): string => {
    const start = conf.search(header);
    expect(start, String(header)).toBeGreaterThanOrEqual(0);
    let depth = 0;
    for (let i = conf.indexOf('{', start); i < conf.length; i++) {
      if (conf[i] === '{') depth++;
      if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
    }
    throw new Error(`unbalanced block ${String(header)}`);
  };
  const directive = (scope: string, name: string) =>
    [...scope.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, 'gm'))].map((m) => m[1]!.trim());
  const seconds = (v: string | undefined) =>
    v?.endsWith('ms') ? Number.parseFloat(v) / 1000 : Number.parseFloat(v ?? '');

  it('is what compose mounts, read-only, behind host port 3000', () => {
    const nginx = compose.services.nginx;
    expect(nginx?.image).toMatch(/^nginx:/);
    expect(nginx?.volumes).toContain('./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
    const listen = Number(directive(block(/^\s*server\s*\{/m), 'listen')[0]);
    expect(nginx?.ports).toEqual([`3000:${listen}`]);
  });

  it('sends every gateway service (and only those) at its PORT', () => {
    const gateways = appServices
      .filter((x) => x.role === 'gateway')
      .map(({ name, s }) => `${name}:${serviceEnv(s).PORT ?? gatewayConfigSchema.port.defaultValue}`)
      .sort();
    const upstreams = [...conf.matchAll(/^\s*upstream\s+(\S+)\s*\{/gm)].map((m) => m[1]!);
    expect(upstreams.length).toBeGreaterThan(0);
    for (const name of upstreams) {
      const servers = directive(block(new RegExp(`^\\s*upstream\\s+${name}\\s*\\{`, 'm')), 'server');
      expect(servers.map((s) => s.split(/\s+/)[0]!).sort(), `upstream ${name}`).toEqual(gateways);
    }
  });

  it('proxies Socket.IO with upgrade headers, sticky upstream and timeouts above the heartbeat', () => {
    const socketio = block(/^\s*location\s+\/socket\.io\/\s*\{/m);
    const upstream = /proxy_pass\s+http:\/\/([^/;\s]+)/.exec(socketio)?.[1];
    const balancing = block(new RegExp(`^\\s*upstream\\s+${upstream}\\s*\\{`, 'm'));
    // Long-polling sends several requests per session: they must reach the same gateway.
    expect(balancing).toMatch(/^\s*(ip_hash|hash\s+\$remote_addr(\s+consistent)?|sticky\s.*);/m);

    const server = block(/^\s*server\s*\{/m);
    const headers = [...directive(server, 'proxy_set_header'), ...directive(socketio, 'proxy_set_header')];
    expect(headers).toContain('Upgrade $http_upgrade');
    expect(headers).toContain('Connection $connection_upgrade');
    expect(conf).toMatch(/map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;/);
    expect([
      ...directive(server, 'proxy_http_version'),
      ...directive(socketio, 'proxy_http_version'),
    ]).toContain('1.1');
    // A proxy_set_header inside the location would silently drop the server-level ones.
    expect(directive(socketio, 'proxy_set_header')).toEqual([]);

    const heartbeatS = socketIoHeartbeatMs() / 1000;
    for (const name of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const value = directive(socketio, name)[0] ?? directive(server, name)[0];
      expect(seconds(value), name).toBeGreaterThan(heartbeatS);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------------------------

describe('Dockerfile', () => {
  const lines = text('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const instructions = lines.map((l) => {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(l) ?? [];
    return { op: (op ?? '').toUpperCase(), args: args ?? '' };
  });
  const stages = instructions.reduce<Array<typeof instructions>>((acc, i) => {
    if (i.op === 'FROM') acc.push([]);
    acc.at(-1)?.push(i);
    return acc;
  }, []);
  const runtime = stages.at(-1) ?? [];
  const last = (op: string) => runtime.filter((i) => i.op === op).at(-1)?.args;
  const execForm = (args: string | undefined) => JSON.parse(args ?? 'null') as string[];

  it('is multi-stage on a slim Node 20 image, with production dependencies only in the runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeImage = /^ARG\s+NODE_IMAGE=(\S+)/m.exec(lines.join('\n'))?.[1];
    expect(nodeImage).toMatch(/^node:20[.\d]*-\S*slim$/);
    for (const stage of stages) expect(stage[0]?.args).toMatch(/^(\$\{NODE_IMAGE\}|[a-z-]+)(\s+AS\s+\S+)?$/i);
    expect(lines.join('\n')).toMatch(/npm ci --omit=dev/);
    const copiedModules = runtime.find((i) => i.op === 'COPY' && /\/node_modules\s/.test(i.args));
    expect(copiedModules?.args, 'node_modules come from the production-deps stage').toMatch(
      /--from=production-deps\b/,
    );
  });

  it('runs as a non-root numeric user, with a HEALTHCHECK and an exec-form CMD that starts the gateway', () => {
    const user = last('USER') ?? 'root';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);

    const health = last('HEALTHCHECK');
    const command = execForm(/CMD\s+(\[.*\])\s*$/.exec(health ?? '')?.[1]);
    expect(command[0]).toBe('node');
    const script = command[1] ?? '';
    expect(existsSync(path(script)), `${script} exists`).toBe(true);
    expect(command.slice(2)).toEqual([HEALTH.ready]);
    expect(
      runtime.some((i) => i.op === 'COPY' && i.args.includes(script)),
      `${script} is copied`,
    ).toBe(true);

    // Exec form: node is PID 1 and gets SIGTERM; a shell form (`CMD node ...`) would wrap it in /bin/sh -c.
    const cmd = execForm(last('CMD'));
    expect(roleOf(cmd)).toBe('gateway');
    expect(last('ENTRYPOINT')).toBeUndefined();
    const dockerignore = text('.dockerignore');
    expect(dockerignore).toMatch(new RegExp(`^!${script.replaceAll('.', '\\.')}$`, 'm'));
  });
});
