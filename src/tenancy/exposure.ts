// Safe defaults: a node reachable from other machines without required client keys is called out loudly at start.
import { isIP } from 'node:net';
import type { AuthConfig } from '../config/index.ts';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/** Warnings to print when the node starts listening on `host`. */
export function exposureWarnings(host: string, auth: AuthConfig): string[] {
  if (isLoopback(host) || auth.mode === 'required') return [];
  return [
    `WARNING: flowrouter listens on ${host}, reachable from other machines, without "auth: { mode: required }". `
      + 'Anyone who can reach this port can use your upstream accounts. Set auth.mode: required and issue client keys '
      + 'with `flowrouter keys create --name <client>`, or bind 127.0.0.1.',
  ];
}
