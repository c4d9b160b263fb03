// A chat stream as Responses API events: the encoder's, or the upstream's own when it speaks the Responses API
// (passthrough), with the fields Flow Router answers for (`store`, `previous_response_id`) set, and the finished
// response handed over for storage before its last event goes out.
import { renderError } from '../core/errors.ts';
import { rawFor, type RawSseEvent } from '../core/passthrough.ts';
import { responsesInbound } from '../inbound/index.ts';
import { formatRawSse, type StreamEncoding } from './event-stream.ts';

const { formatResponsesSse } = responsesInbound;
type ResponseObject = responsesInbound.ResponseObject;

/** The response fields Flow Router answers for, whatever the upstream said (it was asked to store nothing). */
export interface ResponseFields {
  store: boolean;
  previous_response_id: string | null;
}

/** Events that carry the whole response object. */
const RESPONSE_EVENTS = new Set([
  'response.created',
  'response.in_progress',
  'response.queued',
  'response.completed',
  'response.incomplete',
  'response.failed',
]);
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete']);

function typeOf(e: RawSseEvent): string | undefined {
  if (e.event !== undefined) return e.event;
  try {
    return (JSON.parse(e.data) as { type?: string }).type;
  } catch {
    return undefined;
  }
}

/** A passed-through Response with Flow Router's own fields. */
export function withFields<T extends object>(response: T, fields: ResponseFields): T {
  return { ...response, ...fields };
}

export function responsesEncoding(
  encoder: responsesInbound.ResponsesStreamEncoder,
  fields: ResponseFields,
  completed: (response: ResponseObject) => void,
): StreamEncoding {
  let passthrough = false;
  let written = 0;
  const sse = (events: responsesInbound.ResponsesSseEvent[]) => events.map(formatResponsesSse).join('');

  /** Only the few events holding the response are parsed; deltas go out as they came. */
  function rawEvent(e: RawSseEvent): string {
    written++;
    const type = typeOf(e);
    if (!type || !RESPONSE_EVENTS.has(type)) return formatRawSse(e);
    const data = JSON.parse(e.data) as { response?: ResponseObject };
    if (!data.response) return formatRawSse(e);
    data.response = withFields(data.response, fields);
    if (FINAL_EVENTS.has(type)) completed(data.response);
    return formatRawSse({ ...e, data: JSON.stringify(data) });
  }

  return {
    chunk(chunk) {
      const raw = rawFor(chunk, 'responses');
      if (!raw) return sse(encoder.push(chunk));
      passthrough = true;
      return (raw.events ?? []).map(rawEvent).join('');
    },
    end() {
      if (passthrough) return '';
      const events = encoder.end();
      completed(encoder.response);
      return sse(events);
    },
    error(err) {
      if (!passthrough) return sse(encoder.error(err));
      // The upstream's stream broke mid-way: the Responses API's own error event, numbered after what was sent.
      const { body } = renderError(err);
      const data = { type: 'error', sequence_number: written, code: body.error.code, message: body.error.message, param: null };
      return formatRawSse({ event: 'error', data: JSON.stringify(data) });
    },
    // Comments are ignored by every SSE reader; the Responses API has no ping event.
    ping: () => ': keep-alive\n\n',
  };
}
