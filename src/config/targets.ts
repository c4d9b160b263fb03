// One target of a chain: what `provider:` names (a target kind, a named account or a provider type) and its limits.
import { z } from 'zod';
import { isProviderType, providerTypes } from '../providers/registry.ts';
import { accountOf, credentialFields, missingUrl, splitCredentials, timeoutsSchema, urlSchema, type ProviderAccount } from './accounts.ts';
import { camelKeys } from './keys.ts';

const positiveInt = z.number().int().positive();

export const targetSchema = z
  .object({
    /** Upstream model; `*` means the model the client asked for. Required except for target kinds such as `knowledge`. */
    model: z.string().min(1).optional(),
    /** A target kind (`knowledge`), the name of an account under `providers:`, or a provider type (an inline account). */
    provider: z.string().min(1),
    url: urlSchema.optional(),
    ...credentialFields,
    timeouts: timeoutsSchema.optional(),
    /** Name shown in headers, logs and status (defaults to `<chain>/<provider>/<model>`). */
    name: z.string().min(1).optional(),
    /** For `provider: knowledge`: which collection answers (every collection when absent). */
    collection: z.string().optional(),
    /** For `provider: mesh`: one deadline for the forward, however many peers it tries. */
    timeout_ms: positiveInt.optional(),
    weight: z.number().positive().default(1),
    context_window: positiveInt.optional(),
    quality: z.number().int().min(0).max(10).optional(),
    max_concurrency: positiveInt.optional(),
    rpm: positiveInt.optional(),
    tpm: positiveInt.optional(),
    /**
     * The API Responses clients reach this target in: `chat` (default) translates them to Chat Completions, which every
     * OpenAI-compatible server speaks; `responses` passes their body through to the Responses API (openai and azure).
     */
    api: z.enum(['chat', 'responses']).optional(),
  })
  .strict()
  .transform(({ model, provider, url, timeouts, name, collection, ...rest }) => {
    // Whatever is neither where the target is nor its credentials is a setting the router reads (weight, limits…).
    const [credentials, settings] = splitCredentials(rest);
    return { model, provider, url, timeouts, name, collection, credentials, settings: camelKeys(settings) };
  });

export type TargetSpec = z.output<typeof targetSchema>;

/** A provider account, the local knowledge answerer, or the mesh's peers. */
export type TargetKind = 'provider' | 'knowledge' | 'mesh';

export type TargetConfig = TargetSpec['settings'] & {
  /** Stable, readable id: the target's `name`, or `<chain>/<provider>/<model>`. */
  id: string;
  kind: TargetKind;
  /** Upstream model; `*` means the model the client asked for. */
  model: string;
  /** Absent for `knowledge` and `mesh` targets. */
  account?: ProviderAccount;
  /** For `knowledge` targets: the collection searched; absent means every collection. */
  collection?: string;
  /** Set on the targets a `mesh` target expands to: the peer to forward to, and the forward's deadline (epoch ms) they share. */
  peerId?: string;
  deadlineMs?: number;
};

/** Where a target sits, for its default names and for messages. */
export interface TargetSite {
  /** The chain's name (`<chain>.shadow` for a shadow target). */
  chain: string;
  index: number;
  /** The target's key path in the file. */
  path: PropertyKey[];
  /** Reports a problem at a key path; the config then fails with every problem found. */
  issue(path: PropertyKey[], message: string): void;
}

/** Provider types whose targets may take `api: responses`. */
const RESPONSES_API_TYPES = new Set(['openai', 'azure']);

type KindLinker = (spec: TargetSpec, site: TargetSite) => TargetConfig | undefined;

/** Values of `provider:` that name a kind of target rather than an upstream, checked before account names and types. */
const TARGET_KINDS = new Map<string, KindLinker>([
  // Without a collection the answer searches them all: documents added with `kb add -c <name>` answer too.
  [
    'knowledge',
    (spec, site) => ({
      ...spec.settings,
      id: spec.name ?? (spec.collection ? `${site.chain}/knowledge/${spec.collection}` : `${site.chain}/knowledge`),
      kind: 'knowledge',
      model: spec.model ?? 'knowledge',
      collection: spec.collection,
    }),
  ],
  // Every peer that serves the model, tried in turn like targets (see the router); `model` defaults to the client's.
  ['mesh', (spec, site) => ({ ...spec.settings, id: spec.name ?? `${site.chain}/mesh`, kind: 'mesh', model: spec.model ?? '*' })],
]);

/** Names an account may not take, since `provider:` would mean something else. */
export function isTargetKind(name: string): boolean {
  return TARGET_KINDS.has(name);
}

/** Resolves what the target's `provider:` names; undefined (with the problem reported) when it names nothing. */
export function linkTarget(spec: TargetSpec, site: TargetSite, accounts: ReadonlyMap<string, ProviderAccount>): TargetConfig | undefined {
  const kind = TARGET_KINDS.get(spec.provider);
  if (kind && spec.settings.api === 'responses') {
    site.issue([...site.path, 'api'], `the Responses API is spoken by ${[...RESPONSES_API_TYPES].join(' and ')} targets only, not ${spec.provider}`);
    return undefined;
  }
  if (kind) return kind(spec, site);
  if (!spec.model) {
    site.issue([...site.path, 'model'], 'required: the upstream model ("*" passes the client\'s model through)');
    return undefined;
  }
  let account: ProviderAccount;
  const named = accounts.get(spec.provider);
  if (named) {
    // A named account may be specialised per target (another deployment, key or URL).
    account = accountOf(named.name, named.type, spec.url, spec.credentials, spec.timeouts, named);
  } else if (isProviderType(spec.provider)) {
    const message = missingUrl(spec.provider, spec.url, 'url');
    if (message) {
      site.issue([...site.path, 'url'], message);
      return undefined;
    }
    account = accountOf(`${site.chain}[${site.index}]`, spec.provider, spec.url, spec.credentials, spec.timeouts);
  } else {
    site.issue(
      [...site.path, 'provider'],
      `"${spec.provider}" is neither a provider type (${providerTypes().join(', ')}), a target kind (${[...TARGET_KINDS.keys()].join(', ')}) nor an account under providers:`,
    );
    return undefined;
  }
  if (spec.settings.api === 'responses' && !RESPONSES_API_TYPES.has(account.type)) {
    site.issue([...site.path, 'api'], `the Responses API is spoken by ${[...RESPONSES_API_TYPES].join(' and ')} targets only, not ${account.type}`);
    return undefined;
  }
  return { ...spec.settings, id: spec.name ?? `${site.chain}/${spec.provider}/${spec.model}`, kind: 'provider', model: spec.model, account };
}
