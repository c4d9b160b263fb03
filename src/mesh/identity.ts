// The node's lasting mesh identity (an Ed25519 key on disk) and the mesh's pre-shared key files.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { ensurePrivateDir } from '../core/private-files.ts';
import { MeshConfigError } from './errors.ts';
import { IDENTITY_FILE } from './identity-file.ts';

export { IDENTITY_FILE };

/** Loads `<dataDir>/mesh-identity.key`, creating it (mode 0600) on first start so the peer id survives restarts. */
export async function loadOrCreateIdentity(dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, IDENTITY_FILE);
  try {
    return privateKeyFromProtobuf(await readFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new MeshConfigError(`${file}: not a libp2p private key (${(err as Error).message})`);
    }
  }
  const key = await generateKeyPair('Ed25519');
  ensurePrivateDir(dataDir);
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' });
  return key;
}

const PSK_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

/** A new pre-shared key in the 95-byte `/key/swarm/psk/1.0.0/` format that @libp2p/pnet reads too. */
export function generateMeshSecret(): Uint8Array {
  return new TextEncoder().encode(PSK_HEADER + randomBytes(32).toString('hex'));
}

/** Writes a new mesh secret to `file` (mode 0600, refusing to overwrite an existing one). */
export async function writeMeshSecret(file: string): Promise<void> {
  ensurePrivateDir(dirname(file));
  try {
    await writeFile(file, generateMeshSecret(), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MeshConfigError(
        `${file} already exists: every member holds this secret, so it is never replaced silently; delete it first to start a new mesh`,
      );
    }
    throw err;
  }
  // The umask may have narrowed the mode further, never widened it; make it exactly owner-only.
  await chmod(file, 0o600);
}

const PSK_FORMAT = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n([0-9a-f]{64})\s*$/i;

/** The 32-byte key inside a mesh secret file's contents. */
export function decodeMeshSecret(psk: Uint8Array): Uint8Array {
  const m = PSK_FORMAT.exec(Buffer.from(psk).toString('utf8'));
  if (!m) throw new MeshConfigError('not a mesh secret; create one with "flowrouter mesh init"');
  return new Uint8Array(Buffer.from(m[1], 'hex'));
}

/** Reads a mesh secret file, failing with a clear message when it is not the pnet format (raw hex does not work). */
export async function readMeshSecret(file: string): Promise<Uint8Array> {
  const bytes = await readFile(file);
  if (!PSK_FORMAT.test(bytes.toString('utf8'))) {
    throw new MeshConfigError(`${file}: not a mesh secret; create one with "flowrouter mesh init"`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
