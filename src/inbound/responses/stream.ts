// Internal chat chunks → the Responses API's SSE events: created, in_progress, one output item at a time (added, its
// parts and deltas, done), then completed with usage. Every snapshot is what the openai SDK's accumulator rebuilds.
import type { ChatChunk, ChunkDelta, FinishReason, ToolCallDelta, Usage } from '../../core/openai.ts';
import { renderError, UpstreamError } from '../../core/errors.ts';
import { isEmptyState, packState, type CarriedState } from '../carrier.ts';
import { failedResponse, itemId, responseShell, statusOf, toResponseUsage, type ResponseContext } from './response.ts';
import type { OutputItem, OutputText, ResponseObject, ResponsesRequest, ResponsesSseEvent } from './wire.ts';

export interface ResponsesStreamEncoder {
  /** `response.created` and `response.in_progress`, once; push() sends them first by itself. */
  start(model?: string): ResponsesSseEvent[];
  /** The events one chunk produces. Throws UpstreamError('protocol') for arguments of a call whose item is done. */
  push(chunk: ChatChunk): ResponsesSseEvent[];
  /** Close the open item, then `response.completed` (or `response.incomplete`) with the whole response and usage. */
  end(): ResponsesSseEvent[];
  /** `response.failed` with the error and the output so far. */
  error(err: unknown): ResponsesSseEvent[];
  /** The response as the client has it now (complete after end()): what a store keeps. */
  readonly response: ResponseObject;
  readonly done: boolean;
}

type Open =
  | { kind: 'reasoning'; index: number; id: string; text: string; partAdded: boolean }
  | { kind: 'message'; index: number; id: string; text: string }
  | { kind: 'call'; index: number; id: string; call: number; callId: string; name: string; args: string }
  | null;

/** `event: …` and `data: …` lines of one event, as written to the wire. */
export function formatResponsesSse(e: ResponsesSseEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

export function responsesStreamEncoder(body: ResponsesRequest, ctx: ResponseContext): ResponsesStreamEncoder {
  let shell = responseShell(body, ctx, body.model);
  const output: OutputItem[] = [];
  let seq = 0;
  let started = false;
  let done = false;
  let open: Open = null;
  let finish: FinishReason | null = null;
  let usage: Usage | null = null;
  let final: ResponseObject | null = null;
  const counts = { rs: 0, msg: 0, fc: 0 };
  const calls = new Map<number, { stopped: boolean }>();
  let state: CarriedState = {};

  const ev = (type: string, data: Record<string, unknown> = {}): ResponsesSseEvent => ({ event: type, data: { type, sequence_number: seq++, ...data } });
  const snapshot = (): ResponseObject => final ?? { ...shell, output: [...output] };
  const itemStatus = (): 'completed' | 'incomplete' => (statusOf(finish).status === 'completed' ? 'completed' : 'incomplete');

  function start(model = body.model): ResponsesSseEvent[] {
    if (started) return [];
    started = true;
    shell = responseShell(body, ctx, model);
    return [ev('response.created', { response: snapshot() }), ev('response.in_progress', { response: snapshot() })];
  }

  function add(out: ResponsesSseEvent[], item: OutputItem, next: NonNullable<Open>): void {
    out.push(ev('response.output_item.added', { output_index: next.index, item }));
    open = next;
  }

  function finishItem(out: ResponsesSseEvent[], item: OutputItem): void {
    output.push(item);
    out.push(ev('response.output_item.done', { output_index: output.length - 1, item }));
  }

  function close(out: ResponsesSseEvent[]): void {
    const o = open;
    if (!o) return;
    open = null;
    const at = { item_id: o.id, output_index: o.index };
    if (o.kind === 'reasoning') {
      const part = { type: 'summary_text' as const, text: o.text };
      if (o.partAdded) {
        out.push(ev('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: o.text }));
        out.push(ev('response.reasoning_summary_part.done', { ...at, summary_index: 0, part }));
      }
      const carried = isEmptyState(state) ? {} : { encrypted_content: packState(state) };
      state = {};
      finishItem(out, { type: 'reasoning', id: o.id, summary: o.partAdded ? [part] : [], ...carried });
    } else if (o.kind === 'message') {
      const part: OutputText = { type: 'output_text', text: o.text, annotations: [], logprobs: [] };
      out.push(ev('response.output_text.done', { ...at, content_index: 0, text: o.text, logprobs: [] }));
      out.push(ev('response.content_part.done', { ...at, content_index: 0, part }));
      finishItem(out, { type: 'message', id: o.id, role: 'assistant', status: itemStatus(), content: [part] });
    } else {
      calls.get(o.call)!.stopped = true;
      out.push(ev('response.function_call_arguments.done', { ...at, arguments: o.args, name: o.name }));
      finishItem(out, { type: 'function_call', id: o.id, call_id: o.callId, name: o.name, arguments: o.args, status: 'completed' });
    }
  }

  function openReasoning(out: ResponsesSseEvent[]): Extract<Open, { kind: 'reasoning' }> {
    if (open?.kind === 'reasoning') return open;
    close(out);
    const id = itemId(ctx, 'rs', counts.rs++);
    const next = { kind: 'reasoning' as const, index: output.length, id, text: '', partAdded: false };
    add(out, { type: 'reasoning', id, summary: [] }, next);
    return next;
  }

  /** Provider state with nowhere else to go rides in a reasoning item of its own, closed at once. */
  function flushState(out: ResponsesSseEvent[]): void {
    if (isEmptyState(state) || open?.kind === 'reasoning') return;
    openReasoning(out);
    close(out);
  }

  function toolDelta(out: ResponsesSseEvent[], d: ToolCallDelta): void {
    const known = calls.get(d.index);
    const args = d.function?.arguments ?? '';
    if (!known) {
      const callId = d.id ?? itemId(ctx, 'fc', d.index);
      const signature = d.extra_content?.google?.thought_signature;
      if (signature) state.google_calls = { ...state.google_calls, [callId]: signature };
      if (open?.kind === 'reasoning' && signature) close(out);
      else flushState(out);
      close(out);
      calls.set(d.index, { stopped: false });
      const id = itemId(ctx, 'fc', counts.fc++);
      const name = d.function?.name ?? '';
      add(
        out,
        { type: 'function_call', id, call_id: callId, name, arguments: '', status: 'in_progress' },
        { kind: 'call', index: output.length, id, call: d.index, callId, name, args: '' },
      );
    } else if (known.stopped) {
      throw new UpstreamError('protocol', `upstream sent arguments for tool call ${d.index} after a later item began`);
    }
    if (args && open?.kind === 'call') {
      open.args += args;
      out.push(ev('response.function_call_arguments.delta', { item_id: open.id, output_index: open.index, delta: args }));
    }
  }

  function deltaEvents(out: ResponsesSseEvent[], d: ChunkDelta): void {
    if (d.reasoning_content) {
      const r = openReasoning(out);
      const at = { item_id: r.id, output_index: r.index, summary_index: 0 };
      if (!r.partAdded) {
        r.partAdded = true;
        out.push(ev('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } }));
      }
      r.text += d.reasoning_content;
      out.push(ev('response.reasoning_summary_text.delta', { ...at, delta: d.reasoning_content }));
    }
    if (d.thinking_blocks?.length) {
      openReasoning(out);
      state.thinking_blocks = [...(state.thinking_blocks ?? []), ...d.thinking_blocks];
    }
    const text = (d.content ?? '') + (d.refusal ?? '');
    if (text) {
      if (open?.kind !== 'message') {
        close(out);
        const id = itemId(ctx, 'msg', counts.msg++);
        add(out, { type: 'message', id, role: 'assistant', status: 'in_progress', content: [] }, { kind: 'message', index: output.length, id, text: '' });
        out.push(
          ev('response.content_part.added', {
            item_id: id,
            output_index: output.length,
            content_index: 0,
            part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
          }),
        );
      }
      const m = open as Extract<Open, { kind: 'message' }>;
      m.text += text;
      out.push(ev('response.output_text.delta', { item_id: m.id, output_index: m.index, content_index: 0, delta: text, logprobs: [] }));
    }
    if (d.extra_content?.google?.thought_signature) state.google_text = d.extra_content.google.thought_signature;
    for (const t of d.tool_calls ?? []) toolDelta(out, t);
  }

  return {
    get done() {
      return done;
    },
    get response() {
      return snapshot();
    },
    start,
    push(chunk) {
      if (done) return [];
      const out = start(chunk.model || body.model);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices.find((c) => c.index === 0);
      if (choice) {
        deltaEvents(out, choice.delta ?? {});
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      return out;
    },
    end() {
      if (done) return [];
      const out = start();
      close(out);
      flushState(out);
      done = true;
      const status = statusOf(finish);
      final = { ...shell, ...status, output: [...output], usage: toResponseUsage(usage) };
      out.push(ev(status.status === 'completed' ? 'response.completed' : 'response.incomplete', { response: final }));
      return out;
    },
    error(err) {
      if (done) return [];
      const out = start();
      done = true;
      const { status, body: e } = renderError(err);
      final = failedResponse(snapshot(), status === 429 ? 'rate_limit_exceeded' : 'server_error', e.error.message);
      out.push(ev('response.failed', { response: final }));
      return out;
    },
  };
}
