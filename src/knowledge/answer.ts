// The offline `knowledge` target: answers a chat from the knowledge base alone, in the normal chat-completion shape.
import { countTokens } from '../core/tokens.ts';
import { contentText, type ChatChunk, type ChatRequest, type ChatResponse, type Usage } from '../core/openai.ts';
import type { ChatResult, TranslationContext } from '../providers/index.ts';
import { formatPassages, retrieveContext, type Passage } from './rag.ts';
import type { KnowledgeStore } from './store.ts';

/** The text of the last user turn: what retrieval searches for. */
export function lastUserText(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    if (req.messages[i].role === 'user') return contentText(req.messages[i].content);
  }
  return '';
}

/** Source list for headers and the extra response field (OpenAI clients ignore unknown fields). */
export function sourcesOf(passages: readonly Passage[]): { id: string; doc_id: string; title: string; source: string }[] {
  return passages.map((p) => ({ id: p.id, doc_id: p.docId, title: p.title, source: p.source }));
}

export function answerText(passages: readonly Passage[]): string {
  if (passages.length === 0) return 'No model is reachable and the knowledge base has no passage matching this question.';
  const sources = [...new Set(passages.map((p) => p.source || p.docId))];
  return `From the knowledge base (no model was used):\n\n${formatPassages(passages)}\n\nSources: ${sources.join(', ')}`;
}

/**
 * Answers `req` from the store: JSON, or a stream of paragraph-sized chunks with the same `[DONE]` contract. Without
 * a collection every one is searched, or only those `allow` accepts (the caller's grant).
 */
export function answerFromKnowledge(
  store: KnowledgeStore,
  req: ChatRequest,
  collection: string | undefined,
  ctx: TranslationContext,
  allow?: (collection: string) => boolean,
): { result: ChatResult; passages: Passage[] } {
  const { passages } = retrieveContext(store, { query: lastUserText(req), collection, topK: 3, tokenBudget: 1500, allow });
  const text = answerText(passages);
  const completion = countTokens(text);
  const usage: Usage = { prompt_tokens: 0, completion_tokens: completion, total_tokens: completion };
  const base = { id: ctx.id, created: ctx.created, model: ctx.model };
  const flowrouter_sources = sourcesOf(passages);
  if (!req.stream) {
    const response: ChatResponse = {
      ...base,
      object: 'chat.completion',
      usage,
      flowrouter_sources,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    };
    return { result: { kind: 'json', response, firstByteMs: 0 }, passages };
  }
  const chunk = (delta: ChatChunk['choices'][0]['delta'], finish: ChatChunk['choices'][0]['finish_reason'] = null): ChatChunk => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const wantsUsage = req.stream_options?.include_usage === true;
  async function* chunks(): AsyncGenerator<ChatChunk> {
    yield chunk({ role: 'assistant', content: '' });
    for (const part of text.split(/(?<=\n\n)/)) yield chunk({ content: part });
    yield chunk({}, 'stop');
    yield { ...base, object: 'chat.completion.chunk', choices: [], usage, ...(wantsUsage ? {} : { flowrouter_internal_usage: true }) };
  }
  return { result: { kind: 'stream', chunks: chunks(), firstByteMs: 0 }, passages };
}
