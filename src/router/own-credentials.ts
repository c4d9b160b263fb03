// A caller's own credential (its BYOK key, its tenant's account) failing says nothing about the shared target: it is
// kept out of the target's breaker and stats, and a credential the upstream keeps refusing fails fast on its own.
import { createHash } from 'node:crypto';
import type { AccountOverride, TargetConfig } from '../config/index.ts';
import { UpstreamError } from '../core/errors.ts';

/** Upstream answers about the credential rather than the endpoint: refused, not allowed, unpaid, or its own rate limit. */
const CREDENTIAL_STATUSES = new Set([401, 402, 403, 429]);
/** Of those, the ones that will not change by retrying soon (a 429 passes; a bad key stays bad). */
const REFUSAL_STATUSES = new Set([401, 402, 403]);

/**
 * An id for the credential a request uses on this target when it is the caller's own (the same overrides `accountFor`
 * applies), or undefined for the shared account. A hash: the key itself is never kept.
 */
export function ownCredentialOf(target: TargetConfig, accounts: Map<string, AccountOverride> | undefined): string | undefined {
  if (!usesOwnCredential(target, accounts)) return undefined;
  const byType = accounts!.get(target.account!.type);
  const byName = accounts!.get(target.account!.name);
  return createHash('sha256')
    .update(`${target.id}\0${JSON.stringify({ ...byType, ...byName })}`)
    .digest('base64url')
    .slice(0, 22);
}

/** Whether the request replaces this target's account settings with its own (a BYOK key, its tenant's account). */
export function usesOwnCredential(target: TargetConfig, accounts: Map<string, AccountOverride> | undefined): boolean {
  const account = target.account;
  return !!account && !!accounts && (accounts.has(account.type) || accounts.has(account.name));
}

/** Whether a failure is the credential's: 401, 402, 403 or 429 from the upstream, or a refused key in another status (Gemini's 400). */
export function isCredentialFailure(err: unknown): err is UpstreamError {
  return err instanceof UpstreamError && (err.kind === 'auth' || (err.upstreamStatus !== null && CREDENTIAL_STATUSES.has(err.upstreamStatus)));
}

function isRefusal(err: UpstreamError): boolean {
  return err.kind === 'auth' || (err.upstreamStatus !== null && REFUSAL_STATUSES.has(err.upstreamStatus));
}

export interface RefusalSettings {
  /** Refusals within `windowMs` after which the credential is not sent again for `cooldownMs`. */
  failures: number;
  windowMs: number;
  cooldownMs: number;
  /** Credentials remembered at most (least recently seen dropped first): memory does not grow with callers. */
  maxEntries: number;
}

const DEFAULTS: RefusalSettings = { failures: 3, windowMs: 60_000, cooldownMs: 30_000, maxEntries: 1024 };

interface Entry {
  at: number[];
  until: number;
  last: UpstreamError;
}

/** A small breaker per caller credential and target: a key the upstream keeps refusing is answered here for a while. */
export class RefusedCredentials {
  private readonly entries = new Map<string, Entry>();
  private readonly settings: RefusalSettings;

  constructor(settings: Partial<RefusalSettings> = {}) {
    this.settings = { ...DEFAULTS, ...settings };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The error to answer with instead of calling the upstream, while the credential is cooling down. */
  refusal(id: string, now: number): UpstreamError | undefined {
    const e = this.entries.get(id);
    if (!e || now >= e.until) return undefined;
    const wait = Math.ceil((e.until - now) / 1000);
    return new UpstreamError(
      e.last.kind,
      `${e.last.message} (this credential was refused ${e.at.length} times in a row; not sent upstream again for ${wait}s)`,
      { upstreamStatus: e.last.upstreamStatus, status: e.last.status, code: e.last.code },
    );
  }

  failed(id: string, err: UpstreamError, now: number): void {
    if (!isRefusal(err)) return;
    const e = this.entries.get(id) ?? { at: [], until: 0, last: err };
    this.entries.delete(id);
    e.at = e.at.filter((t) => t > now - this.settings.windowMs);
    e.at.push(now);
    if (e.at.length > this.settings.failures) e.at.shift();
    e.last = err;
    if (e.at.length >= this.settings.failures) e.until = now + this.settings.cooldownMs;
    this.entries.set(id, e);
    if (this.entries.size > this.settings.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  succeeded(id: string): void {
    this.entries.delete(id);
  }
}
