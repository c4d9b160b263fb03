// Rewrites an OpenAI JSON Schema into the OpenAPI subset Gemini accepts: an allowlist of keys, local $refs inlined.
//
// Gemini answers 400 "Unknown name ..." for any key outside its Schema message ($schema, additionalProperties, title,
// default, examples, strict, pattern, ...), so keys are kept by allowlist rather than by stripping a denylist.

const KEPT = ['description', 'minItems', 'maxItems', 'minimum', 'maximum'] as const;
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);
/** Gemini accepts `format` only for these type/format pairs and rejects the rest (e.g. string "uri"). */
const FORMATS: Record<string, Set<string>> = {
  STRING: new Set(['enum', 'date-time']),
  NUMBER: new Set(['float', 'double']),
  INTEGER: new Set(['int32', 'int64']),
};
/** Deep or self-referencing schemas are cut here rather than expanded forever. */
const MAX_DEPTH = 24;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Gemini form of a JSON Schema (undefined when there is no schema to send). */
export function toGeminiSchema(schema: unknown): Json | undefined {
  if (!isObject(schema)) return undefined;
  const defs: Json = { ...(isObject(schema.definitions) ? schema.definitions : {}), ...(isObject(schema.$defs) ? schema.$defs : {}) };
  return convert(schema, defs, [], 0);
}

function localRefName(ref: string): string | undefined {
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  return m ? decodeURIComponent(m[1].replace(/~1/g, '/').replace(/~0/g, '~')) : undefined;
}

function convert(node: Json, defs: Json, refs: string[], depth: number): Json {
  if (depth > MAX_DEPTH) return {};
  if (typeof node.$ref === 'string') {
    const name = localRefName(node.$ref);
    const target = name === undefined ? undefined : defs[name];
    const { $ref: _ref, ...siblings } = node;
    // An unknown or recursive reference cannot be inlined: keep only what the siblings say.
    if (name === undefined || !isObject(target) || refs.includes(name)) return convert(siblings, defs, refs, depth + 1);
    return convert({ ...target, ...siblings }, defs, [...refs, name], depth + 1);
  }
  if (Array.isArray(node.allOf)) {
    const { allOf, ...rest } = node;
    return mergeAll([rest, ...allOf.filter(isObject)].map((p) => convert(p, defs, refs, depth + 1)));
  }

  const out: Json = {};
  let types = (Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]).filter((t): t is string => typeof t === 'string');
  if (types.includes('null')) {
    out.nullable = true;
    types = types.filter((t) => t !== 'null');
  }
  if (types.length === 1 && TYPES.has(types[0])) out.type = types[0].toUpperCase();
  else if (types.length > 1) out.anyOf = types.filter((t) => TYPES.has(t)).map((t) => ({ type: t.toUpperCase() }));

  for (const key of KEPT) if (node[key] !== undefined) out[key] = node[key];
  if (node.nullable === true) out.nullable = true;

  const format = typeof node.format === 'string' ? node.format : undefined;
  if (format && typeof out.type === 'string' && FORMATS[out.type]?.has(format)) out.format = format;

  const values = Array.isArray(node.enum) ? node.enum : node.const !== undefined ? [node.const] : undefined;
  if (values) {
    if (values.includes(null)) out.nullable = true;
    const strings = values.filter((v) => v !== null);
    // Gemini's enum is for strings only; a numeric enum is left to the type and description.
    if (strings.length && strings.every((v) => typeof v === 'string')) {
      out.enum = strings;
      out.type ??= 'STRING';
    }
  }

  const branches = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (branches) {
    const kept = branches
      .filter(isObject)
      .filter((b) => {
        if (b.type === 'null') {
          out.nullable = true;
          return false;
        }
        return true;
      })
      .map((b) => convert(b, defs, refs, depth + 1));
    if (kept.length === 1) Object.assign(out, kept[0], out.nullable ? { nullable: true } : {});
    else if (kept.length > 1) out.anyOf = kept;
  }

  if (isObject(node.properties)) {
    const props: Json = {};
    for (const [name, sub] of Object.entries(node.properties)) props[name] = isObject(sub) ? convert(sub, defs, refs, depth + 1) : {};
    if (Object.keys(props).length) {
      out.properties = props;
      out.type ??= 'OBJECT';
      if (Array.isArray(node.required)) {
        const required = node.required.filter((r): r is string => typeof r === 'string' && r in props);
        if (required.length) out.required = required;
      }
      if (Array.isArray(node.propertyOrdering)) out.propertyOrdering = node.propertyOrdering.filter((p) => typeof p === 'string' && p in props);
    }
  }

  const items = Array.isArray(node.items) ? node.items[0] : (node.items ?? (Array.isArray(node.prefixItems) ? node.prefixItems[0] : undefined));
  if (isObject(items)) {
    out.items = convert(items, defs, refs, depth + 1);
    out.type ??= 'ARRAY';
  }
  return out;
}

/** Converted allOf parts as one schema: properties and required lists united, other keys from the last that sets them. */
function mergeAll(parts: Json[]): Json {
  const merged: Json = {};
  const properties: Json = {};
  const required: unknown[] = [];
  for (const p of parts) {
    const { properties: props, required: req, ...rest } = p;
    Object.assign(merged, rest);
    if (isObject(props)) Object.assign(properties, props);
    if (Array.isArray(req)) required.push(...req);
  }
  if (Object.keys(properties).length) merged.properties = properties;
  if (required.length) merged.required = [...new Set(required)];
  return merged;
}
