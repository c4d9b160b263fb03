// Document and collection ids: validated when they come from users, derived stably from collection + source otherwise.
import { createHash } from 'node:crypto';
import { ClientError } from '../core/errors.ts';

const DOC_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@~+=-]{0,255}$/;
const COLLECTION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const UNSAFE = /[^A-Za-z0-9._/@~+=-]+/g;

export const DEFAULT_COLLECTION = 'default';

export function validateDocId(id: unknown, param = 'id'): string {
  if (typeof id !== 'string' || !DOC_ID.test(id) || id.split('/').includes('..')) {
    throw new ClientError('Document id must be 1–256 characters of letters, digits and . _ : / @ ~ + = -, starting with a letter or digit', {
      code: 'invalid_document_id',
      param,
    });
  }
  return id;
}

export function validateCollection(name: unknown, param = 'collection'): string {
  if (typeof name !== 'string' || !COLLECTION.test(name)) {
    throw new ClientError('Collection must be 1–64 characters of letters, digits and _ . -, starting with a letter or digit', {
      code: 'invalid_collection',
      param,
    });
  }
  return name;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `collection:source`, readable when the source is tame; otherwise a slug plus a hash so distinct sources never collide. */
export function stableDocId(collection: string, source: string): string {
  const slug = source
    .replace(/\\/g, '/')
    .replace(UNSAFE, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/\.\.+/g, '.');
  const plain = `${collection}:${slug}`;
  if (slug === source && slug.length > 0 && plain.length <= 256) return plain;
  return `${collection}:${slug.slice(0, 180)}~${sha256(source).slice(0, 12)}`;
}
