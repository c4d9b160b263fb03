// The config file's schema (YAML keys in snake_case, unknown keys are errors) and the typed NodeConfig it produces.
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { isProviderType } from '../providers/registry.ts';
import { accountOf, accountSchema, tenantsSchema, type AccountOverride, type ProviderAccount } from './accounts.ts';
import { chainSchema, type ChainConfig, type ChainSpec } from './chains.ts';
import { meshSchema } from './mesh.ts';
import { routerSchema, routesSchema } from './routing.ts';
import { authSchema, cacheSchema, normalizeSchema, pricesSchema, responsesSchema, serverSchema, usageSchema } from './sections.ts';
import { isTargetKind, linkTarget, type TargetConfig, type TargetSite } from './targets.ts';

const sections = z
  .object({
    server: serverSchema,
    providers: z.record(z.string(), accountSchema).default({}),
    chains: z.record(z.string(), chainSchema),
    routes: routesSchema,
    router: routerSchema,
    auth: authSchema,
    tenants: tenantsSchema,
    cache: cacheSchema,
    normalize: normalizeSchema,
    usage: usageSchema,
    responses: responsesSchema,
    mesh: meshSchema,
    prices: pricesSchema,
  })
  .strict();

type Sections = z.output<typeof sections>;
type Issue = (path: PropertyKey[], message: string, at?: 'key') => void;

/** The cross-references, checked once every section is valid: accounts, chains, shadows, routes, tenants. */
function link({ providers, chains: chainSpecs, tenants: tenantSpecs, ...settings }: Sections, ctx: z.RefinementCtx) {
  // An unknown key does not stop zod's transforms; cross-references are checked only on an otherwise valid file.
  if (ctx.issues.length > 0) return z.NEVER;
  let failed = false;
  const issue: Issue = (path, message, at) => {
    failed = true;
    ctx.addIssue({ code: 'custom', path, message, params: at ? { at } : undefined, input: undefined });
  };
  const accounts = new Map<string, ProviderAccount>();
  for (const [name, a] of Object.entries(providers)) {
    if (isTargetKind(name) || (isProviderType(name) && a.type !== name)) {
      issue(['providers', name], 'an account may not be named after another provider type or a target kind (knowledge, mesh)', 'key');
    }
    accounts.set(name, accountOf(name, a.type, a.baseUrl, a.credentials, a.timeouts));
  }
  const chains = new Map<string, ChainConfig>();
  for (const [name, spec] of Object.entries(chainSpecs)) chains.set(name, linkChain(name, spec, accounts, issue));
  for (const [name, spec] of Object.entries(chainSpecs)) linkShadow(name, spec, chains, accounts, issue);
  for (const chain of chains.values()) placePeers(chain, chainSpecs[chain.name], settings.mesh, issue);
  for (const [i, r] of settings.routes.entries()) {
    if (!chains.has(r.chain)) issue(['routes', i, 'chain'], `no chain named "${r.chain}"`);
  }
  const tenants = new Map(
    Object.entries(tenantSpecs).map(([name, t]) => {
      for (const account of Object.keys(t.accounts)) {
        if (!accounts.has(account) && !isProviderType(account)) {
          issue(['tenants', name, 'accounts', account], 'neither an account under providers: nor a provider type', 'key');
        }
      }
      return [name, { name, ...t, accounts: new Map<string, AccountOverride>(Object.entries(t.accounts)) }];
    }),
  );
  if (failed) return z.NEVER;
  const { mesh, server } = settings;
  const secretFile = mesh.secretFile === undefined ? undefined : resolvePath(server.dataDir, mesh.secretFile);
  return { ...settings, accounts, chains, tenants, mesh: { ...mesh, secretFile } };
}

/**
 * A `mesh` target needs the mesh; with the mesh forwarding, a chain without one asks the peers after its model targets
 * and before its first knowledge target.
 */
function placePeers(chain: ChainConfig, spec: ChainSpec, mesh: Sections['mesh'], issue: Issue): void {
  const i = chain.targets.findIndex((t) => t.kind === 'mesh');
  if (i >= 0 && !mesh.enabled) {
    issue(
      [...(spec.listForm ? ['chains', chain.name] : ['chains', chain.name, 'targets']), i, 'provider'],
      'a mesh target needs the mesh (add a mesh: section)',
    );
  }
  if (i >= 0 || !mesh.enabled || !mesh.forward) return;
  const at = chain.targets.findIndex((t) => t.kind === 'knowledge');
  chain.targets.splice(at < 0 ? chain.targets.length : at, 0, { id: `${chain.name}/mesh`, kind: 'mesh', model: '*', weight: 1 });
}

function linkChain(name: string, spec: ChainSpec, accounts: Map<string, ProviderAccount>, issue: Issue): ChainConfig {
  const base = spec.listForm ? ['chains', name] : ['chains', name, 'targets'];
  const targets: TargetConfig[] = [];
  const ids = new Set<string>();
  for (const [index, t] of spec.targets.entries()) {
    const path = [...base, index];
    const target = linkTarget(t, { chain: name, index, path, issue }, accounts);
    if (!target) continue;
    if (ids.has(target.id)) issue(path, `two targets of chain "${name}" share the id "${target.id}"; give one a name:`);
    ids.add(target.id);
    targets.push(target);
  }
  return { name, ...spec.options, targets };
}

/** The shadow target is another target's id (of any chain, or an inline shadow target named before) or an inline target. */
function linkShadow(name: string, spec: ChainSpec, chains: Map<string, ChainConfig>, accounts: Map<string, ProviderAccount>, issue: Issue): void {
  const s = spec.shadow;
  if (!s) return;
  const path = ['chains', name, 'shadow'];
  let target: TargetConfig | undefined;
  if (typeof s.target === 'string') {
    const id = s.target;
    for (const c of chains.values()) target ??= c.targets.find((t) => t.id === id) ?? (c.shadow?.target.id === id ? c.shadow.target : undefined);
    if (!target) issue([...path, 'target'], `no target has the id "${id}"`);
  } else {
    const site: TargetSite = { chain: `${name}.shadow`, index: 0, path: [...path, 'target'], issue };
    target = linkTarget(s.target, site, accounts);
  }
  if (s.judge !== undefined && !chains.has(s.judge)) issue([...path, 'judge'], `no chain named "${s.judge}"`);
  if (target) chains.get(name)!.shadow = { ...s, target };
}

export const configSchema = sections.transform(link);

/** The config a node runs on: validated, defaults applied, cross-references resolved. */
export type NodeConfig = z.output<typeof configSchema> & {
  /** Where the config came from (a path, or `(embedded default)`). */
  source: string;
};

export type TenantConfig = NodeConfig['tenants'] extends Map<string, infer T> ? T : never;
