// `data:` URLs, the way the internal shape carries inline images and files: parsing, building, and guessing a type.

export interface InlineData {
  mediaType: string;
  /** Base64 text, as it appeared in the URL. */
  data: string;
}

const DATA_URL = /^data:([^;,]+)((?:;[^;,]+)*);base64,(.*)$/s;

/** The media type and base64 payload of a `data:<type>[;params];base64,<data>` URL, or null for anything else. */
export function parseDataUrl(url: string): InlineData | null {
  const m = DATA_URL.exec(url);
  return m ? { mediaType: m[1].toLowerCase(), data: m[3] } : null;
}

export function toDataUrl(mediaType: string, base64: string): string {
  return `data:${mediaType};base64,${base64}`;
}

const BY_EXTENSION: Readonly<Record<string, string>> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
};

/** A media type from a file name or URL path's extension, or `fallback`. */
export function mediaTypeOf(name: string | undefined, fallback: string): string {
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(name ?? '')?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION[ext]) || fallback;
}

/**
 * An OpenAI file part's `file_data`: a data URL, or bare base64 as OpenAI's examples sometimes show, typed by the
 * file name (a PDF when there is none, the one type every provider reads).
 */
export function fileData(fileDataField: string, filename?: string): InlineData {
  return parseDataUrl(fileDataField) ?? { mediaType: mediaTypeOf(filename, 'application/pdf'), data: fileDataField };
}
