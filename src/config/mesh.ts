// The `mesh:` section: on when present (unless `enabled: false`), and never open to strangers.
import { z } from 'zod';
import { camelKeys } from './keys.ts';
import { portSchema } from './sections.ts';

export const DEFAULT_MESH_PORT = 2403;

const multiaddr = z.string().startsWith('/');

export const meshSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** A readable name shown to peers (defaults to the host name). */
    name: z.string().min(1).max(64).optional(),
    /** libp2p listen multiaddrs; default /ip4/0.0.0.0/tcp/<port>. */
    listen: z.array(multiaddr).optional(),
    port: portSchema.default(DEFAULT_MESH_PORT),
    /** Checked where it is dialled (config/bootstrap.ts, by `start`): commands that never dial accept pi-peer.yaml's placeholder. */
    bootstrap: z.array(z.string()).default([]),
    mdns: z.boolean().default(true),
    /** The pre-shared key written by `flowrouter mesh init` (relative paths are inside the data directory). */
    secret_file: z.string().optional(),
    /** Peer ids allowed to connect; empty means every holder of the secret. */
    allowlist: z.array(z.string().min(1)).default([]),
    /** Forward requests to peers when every local target failed or none serves the model. */
    forward: z.boolean().default(true),
    forward_timeout_ms: z.number().int().positive().default(120_000),
    /** Serve requests peers forward to this node (on by default); off, peers get an error and no capacity is advertised. */
    accept_forwards: z.boolean().default(true),
    /** What each peer may spend through this node's accounts: requests and tokens per minute, USD per day or month. */
    forward_limits: z
      .object({
        rpm: z.number().int().positive().optional(),
        tpm: z.number().int().positive().optional(),
        budget_usd: z.number().min(0).optional(),
        budget_period: z.enum(['day', 'month']).optional(),
      })
      .strict()
      .superRefine((l, ctx) => {
        if (l.budget_period !== undefined && l.budget_usd === undefined) ctx.addIssue({ code: 'custom', path: ['budget_period'], message: 'needs budget_usd' });
      })
      .transform(({ budget_period, ...l }) => ({ ...camelKeys(l), budgetPeriod: budget_period ?? 'day' }))
      .optional(),
    /** Replicate the knowledge base (on by default with the mesh) and response-cache entries (off by default). */
    replicate_knowledge: z.boolean().default(true),
    /** Replicate client keys (their salted hashes and policies, rotations, revocations) to every member (on by default). */
    replicate_keys: z.boolean().default(true),
    /** Members whose key operations take effect (and the only ones that may issue keys); empty: every member. */
    key_issuers: z.array(z.string().min(1)).default([]),
    replicate_cache: z.boolean().default(false),
    /**
     * Client keys' rpm, tpm and budgets count every member's use (on by default): members gossip their counts and admit
     * against the totals; see SECURITY.md for the overspend bound.
     */
    shared_limits: z
      .object({
        enabled: z.boolean().default(true),
        /**
         * How far a key may pass each limit mesh-wide (a share of the limit; at least one request per other member): what a
         * member may admit before the members it is in contact with have acknowledged it.
         */
        overshoot: z.number().min(0).max(1).default(0.05),
        /** How often a member says it is alive and what it heard, whether or not anything changed. */
        heartbeat_ms: z.number().int().positive().default(1_000),
        /** A member not heard from for this long is out of contact: its share of each limit is reserved for it. */
        contact_timeout_ms: z.number().int().positive().default(3_000),
        /** A member not heard from for this long stops counting towards the shares (it left the mesh). */
        member_horizon_ms: z
          .number()
          .int()
          .positive()
          .default(10 * 60_000),
      })
      .strict()
      .transform((l) => camelKeys(l))
      .prefault({}),
    sync_interval_ms: z.number().int().positive().default(30_000),
    /** `/v1/usage?scope=mesh`: how long each member has to answer; one that does not is reported, not waited for. */
    usage_timeout_ms: z.number().int().positive().default(5_000),
    tombstone_horizon_ms: z
      .number()
      .int()
      .positive()
      .default(7 * 24 * 3600_000),
  })
  .strict()
  .superRefine((m, ctx) => {
    // Contact is kept by heartbeats: a timeout shorter than two of them would call live members silent.
    if (m.shared_limits.contactTimeoutMs < 2 * m.shared_limits.heartbeatMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['shared_limits', 'contact_timeout_ms'],
        message: `must be at least twice heartbeat_ms (${m.shared_limits.heartbeatMs})`,
      });
    }
    // A stranger on the LAN must never be able to join: a shared secret, an allowlist of peer ids, or both.
    if (m.enabled && m.secret_file === undefined && m.allowlist.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'set secret_file (create it with `flowrouter mesh init`) or an allowlist of peer ids, or both; an open mesh is refused',
      });
    }
  })
  .transform(({ port, listen, secret_file, ...rest }) => ({
    ...camelKeys(rest),
    listen: listen ?? [`/ip4/0.0.0.0/tcp/${port}`],
    /** Relative to the data directory until the whole config is linked (then absolute); absent means no private network. */
    secretFile: secret_file,
  }))
  .prefault({ enabled: false });

export type MeshConfig = z.output<typeof meshSchema>;
export type ForwardLimits = NonNullable<MeshConfig['forwardLimits']>;
