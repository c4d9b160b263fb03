// The one "send to target" seam behind the router: a provider account over the transport, the knowledge base, or a mesh peer.
import type { NodeConfig, TargetConfig } from '../config/index.ts';
import { UpstreamError } from '../core/errors.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../core/openai.ts';
import { answerFromKnowledge, type KnowledgeStore } from '../knowledge/index.ts';
import type { ClientInfo, Operation, Outcome, RequestOf } from '../pipeline/index.ts';
import { providers, type Provider, type Transport } from '../providers/index.ts';
import { AttemptRefused, type SendContext } from '../router/index.ts';
import { accountFor } from '../tenancy/index.ts';
import type { MeshLink } from './mesh-link.ts';
import { passthroughFor } from './passthrough.ts';

export interface TargetSenderDeps {
  transport: Transport;
  config: () => NodeConfig;
  knowledge: () => KnowledgeStore | undefined;
  /** The running mesh, when there is one. */
  mesh: () => MeshLink | undefined;
  /** The collections a client may read when a knowledge target names none (undefined: all of them). */
  readable?: (client: ClientInfo | undefined) => ((collection: string) => boolean) | undefined;
}

function idAndTime(requestId: string) {
  return { id: `chatcmpl-${requestId.replaceAll('-', '').slice(0, 24)}`, created: Math.floor(Date.now() / 1000) };
}

/** OpenAI SDKs ask for base64 by default; providers that only return floats are encoded here. */
function withEncoding(res: EmbeddingsResponse, format: EmbeddingsRequest['encoding_format']): EmbeddingsResponse {
  if (format !== 'base64') return res;
  const data = res.data.map((d) =>
    typeof d.embedding === 'string' ? d : { ...d, embedding: Buffer.from(new Float32Array(d.embedding).buffer).toString('base64') },
  );
  return { ...res, data };
}

function providerOf(target: TargetConfig): Provider {
  const p = target.account && providers[target.account.type];
  if (!p) throw new UpstreamError('client', `target ${target.id}: provider ${target.account?.type ?? target.kind} is not available`, { status: 500 });
  return p;
}

export class TargetSender {
  private readonly deps: TargetSenderDeps;

  constructor(deps: TargetSenderDeps) {
    this.deps = deps;
  }

  /** Which operations a target serves: every kind serves chat; embeddings and legacy completions only some providers. */
  readonly supports = (target: TargetConfig, op: Operation): boolean => {
    if (op === 'chat') return true;
    if (target.kind !== 'provider' || !target.account) return false;
    const p = providers[target.account.type];
    return op === 'embeddings' ? !!p?.embeddings : !!p?.completions;
  };

  readonly send = async <O extends Operation>(target: TargetConfig, op: O, req: RequestOf<O>, ctx: SendContext): Promise<Outcome<O>> => {
    const p = target.kind === 'provider' ? providerOf(target) : undefined;
    const pass = p && op === 'chat' ? passthroughFor(target, p, req as RequestOf<'chat'>, ctx.inbound) : undefined;
    if (pass) {
      const account = accountFor(target.account!, ctx.accounts);
      return this.deps.transport.sendNative(p!, pass.native, account, pass, { model: req.model, ...idAndTime(ctx.requestId) }, ctx.signal) as Promise<
        Outcome<O>
      >;
    }
    // Part of the request only its own API's vendor serves: any other target is passed over, its health untouched.
    if (ctx.inbound?.untranslatable) throw new AttemptRefused(target.id, ctx.inbound.untranslatable);
    if (target.kind === 'mesh') return this.sendToPeer(target, req as RequestOf<'chat'>, ctx) as Promise<Outcome<O>>;
    const tctx = { model: req.model, ...idAndTime(ctx.requestId) };
    if (target.kind === 'knowledge') {
      const store = this.deps.knowledge();
      if (!store) throw new UpstreamError('server', `target ${target.id}: the knowledge base is not open`);
      const allow = target.collection === undefined ? this.deps.readable?.(ctx.client) : undefined;
      return answerFromKnowledge(store, req as RequestOf<'chat'>, target.collection, tctx, allow).result as Outcome<O>;
    }
    if (!p || !target.account) throw new UpstreamError('server', `target ${target.id}: no provider account`);
    const account = accountFor(target.account, ctx.accounts);
    const { transport } = this.deps;
    if (op === 'chat') return transport.sendChat(p, account, req as RequestOf<'chat'>, tctx, ctx.signal) as Promise<Outcome<O>>;
    if (op === 'embeddings') {
      if (!p.embeddings) throw new UpstreamError('server', `${target.id} has no embeddings`);
      const e = req as EmbeddingsRequest;
      const { body, firstByteMs } = await transport.sendJson(p, account, p.embeddings.request(e, tctx, account), ctx.signal);
      return { kind: 'json', response: withEncoding(p.embeddings.response(body, tctx), e.encoding_format), firstByteMs } as Outcome<O>;
    }
    if (!p.completions) throw new UpstreamError('server', `${target.id} has no legacy completions`);
    const c = req as RequestOf<'completions'>;
    return transport.sendCompletions(p, account, p.completions.request(c, tctx, account), c, ctx.signal) as Promise<Outcome<O>>;
  };

  /** A mesh peer: the request goes one hop, within the deadline the peers of one mesh target share. */
  private async sendToPeer(target: TargetConfig, req: RequestOf<'chat'>, ctx: SendContext): Promise<Outcome<'chat'>> {
    const mesh = this.deps.mesh();
    if (!mesh || !target.peerId) throw new UpstreamError('connect', 'the mesh is not running');
    const deadlineMs = target.deadlineMs ?? Date.now() + (target.timeoutMs ?? this.deps.config().mesh.forwardTimeoutMs);
    if (deadlineMs <= Date.now()) throw new UpstreamError('timeout', `mesh peer ${target.peerId.slice(-8)}: the forward's deadline has passed`);
    // A client key's requests carry its identity (a peer's own forwards never get here: they are not forwarded again).
    const client = ctx.client && !ctx.client.id.startsWith('peer:') ? ctx.client : undefined;
    const identity = client && (client.tenant === undefined ? { keyId: client.id } : { keyId: client.id, tenant: client.tenant });
    return mesh.forward(target.peerId, req, { signal: ctx.signal, requestId: ctx.requestId, identity, deadlineMs });
  }

  /** Active health check: the provider's own probe request (e.g. GET /models); false when it has none. */
  readonly probe = async (target: TargetConfig, signal: AbortSignal): Promise<boolean> => {
    const spec = target.kind === 'provider' && target.account ? providers[target.account.type]?.probe?.(target.account) : undefined;
    if (!spec) return false;
    await this.deps.transport.sendJson(providerOf(target), target.account!, spec, signal);
    return true;
  };
}
