// Gemini `streamGenerateContent?alt=sse` events → OpenAI chat-completion chunks.
//
// Every SSE data line is a whole GenerateContentResponse and Gemini sends no end marker. The stream counts as
// finished once every candidate that spoke has carried a finishReason (or the prompt was blocked); a stream that
// stops short of that is reported unfinished, so the transport turns it into a protocol error.
import type { ChatChunk, ChatRequest, ChunkChoice, Usage } from '../../core/openai.ts';
import { UpstreamError } from '../../core/errors.ts';
import type { SseEvent, StreamTranslator, TranslationContext } from '../types.ts';
import {
  answerText,
  checkGeminiBody,
  functionCalls,
  mapFinishReason,
  textSignature,
  thoughtText,
  toolCallId,
  toToolCall,
  usageFromGemini,
} from './response.ts';

interface CandidateState {
  roleSent: boolean;
  /** Running OpenAI tool-call index, stable across events. */
  tools: number;
  finished: boolean;
}

export function geminiStreamTranslator(req: ChatRequest, ctx: TranslationContext): StreamTranslator {
  const wantsUsage = req.stream_options?.include_usage === true;
  const oneCall = req.parallel_tool_calls === false;
  const candidates = new Map<number, CandidateState>();
  let usage: Usage | undefined;
  let calls = 0;
  let blocked = false;
  let ended = false;

  const chunk = (choices: ChunkChoice[]): ChatChunk => ({ id: ctx.id, object: 'chat.completion.chunk', created: ctx.created, model: ctx.model, choices });

  function stateOf(index: number): CandidateState {
    let s = candidates.get(index);
    if (!s) candidates.set(index, (s = { roleSent: false, tools: 0, finished: false }));
    return s;
  }

  return {
    get finished() {
      return ended && (blocked || (candidates.size > 0 && [...candidates.values()].every((s) => s.finished)));
    },
    push(ev: SseEvent): ChatChunk[] {
      const data = ev.data.trim();
      if (!data) return [];
      let body: unknown;
      try {
        body = JSON.parse(data);
      } catch {
        throw new UpstreamError('protocol', 'gemini sent a malformed stream event');
      }
      const res = checkGeminiBody(body);
      if (res.usageMetadata) usage = usageFromGemini(res.usageMetadata);
      const out: ChatChunk[] = [];
      for (const [position, cand] of (res.candidates ?? []).entries()) {
        const index = cand.index ?? position;
        const s = stateOf(index);
        const parts = cand.content?.parts ?? [];
        const delta: ChunkChoice['delta'] = {};
        if (!s.roleSent) {
          delta.role = 'assistant';
          s.roleSent = true;
        }
        const reasoning = thoughtText(parts);
        if (reasoning) delta.reasoning_content = reasoning;
        const text = answerText(parts);
        if (text) delta.content = text;
        const signature = textSignature(parts);
        if (signature) delta.extra_content = { google: { thought_signature: signature } };
        // parallel_tool_calls: false has no Gemini switch: calls after the first are not passed on.
        const fcs = functionCalls(parts).slice(0, oneCall ? Math.max(0, 1 - s.tools) : undefined);
        // Gemini sends each function call whole, so one delta carries its id, name, complete arguments and signature.
        if (fcs.length) delta.tool_calls = fcs.map((fc) => ({ index: s.tools++, ...toToolCall(fc, fc.id || toolCallId(ctx, calls++)) }));
        const finish = cand.finishReason && !s.finished ? mapFinishReason(cand.finishReason, s.tools > 0) : null;
        if (finish) s.finished = true;
        if (Object.keys(delta).length || finish) out.push(chunk([{ index, delta, finish_reason: finish }]));
      }
      if (!res.candidates?.length && res.promptFeedback?.blockReason && !blocked) {
        blocked = true;
        out.push(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }]));
      }
      return out;
    },
    end(): ChatChunk[] {
      if (ended) return [];
      ended = true;
      if (!usage) return [];
      const last: ChatChunk = { ...chunk([]), usage };
      // Usage the client did not ask for still reaches the caller for accounting, marked to be kept off the wire.
      if (!wantsUsage) last.flowrouter_internal_usage = true;
      return [last];
    },
  };
}
