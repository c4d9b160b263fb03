// Route rules: the first rule whose every condition holds picks the chain; tokens are counted only if a rule asks.
import type { ChatRequest } from '../core/openai.ts';
import type { RouteRule } from '../config/index.ts';
import type { RequestContext } from '../pipeline/index.ts';

/** What a rule may look at besides the request: its headers and its client. */
type RuleContext = Pick<RequestContext, 'headers' | 'client'>;

function hasImages(req: ChatRequest): boolean {
  return Array.isArray(req.messages) && req.messages.some((m) => Array.isArray(m.content) && m.content.some((p) => p.type === 'image_url'));
}

function headerValue(meta: RuleContext, name: string): string | undefined {
  const v = meta.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function ruleMatches(rule: RouteRule, req: ChatRequest, meta: RuleContext, tokens: () => number): boolean {
  if (rule.model && !rule.model.test(req.model)) return false;
  if (rule.hasTools !== undefined && rule.hasTools !== (Array.isArray(req.tools) && req.tools.length > 0)) return false;
  if (rule.hasImages !== undefined && rule.hasImages !== hasImages(req)) return false;
  for (const [name, value] of rule.headers) {
    const v = headerValue(meta, name);
    if (v === undefined || !value.test(v)) return false;
  }
  for (const [key, value] of rule.metadata) {
    const v = req.metadata?.[key];
    if (typeof v !== 'string' || !value.test(v)) return false;
  }
  if (rule.clients && !(meta.client && rule.clients.includes(meta.client.id))) return false;
  // Token bounds last: counting is the only costly condition, and cheaper ones may already have ruled the rule out.
  if (rule.minPromptTokens !== undefined && tokens() < rule.minPromptTokens) return false;
  if (rule.maxPromptTokens !== undefined && tokens() > rule.maxPromptTokens) return false;
  return true;
}

export function matchRoute(rules: RouteRule[], req: ChatRequest, meta: RuleContext, tokens: () => number): RouteRule | undefined {
  return rules.find((r) => ruleMatches(r, req, meta, tokens));
}
