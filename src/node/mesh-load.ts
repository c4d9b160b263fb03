// Loads the libp2p stack one package at a time, so a node that is already serving keeps answering while its mesh loads.
import type { MeshLink } from './mesh-link.ts';

/**
 * The mesh's direct dependencies, shared foundations first. Importing them all at once evaluates ~700 modules in one
 * turn of the event loop (~0.5-0.9 s on a 2-core VM, longer on a Pi) during which not even /ready is answered; one
 * package per turn keeps each pause to roughly a tenth of that. A package left out here is still loaded by the
 * final import, only in a longer pause.
 */
const MESH_PACKAGES = [
  'multiformats',
  '@libp2p/interface',
  '@libp2p/crypto',
  '@multiformats/multiaddr',
  '@libp2p/utils',
  '@libp2p/peer-id',
  'libp2p',
  '@chainsafe/libp2p-noise',
  '@chainsafe/libp2p-yamux',
  '@libp2p/kad-dht',
  '@libp2p/gossipsub',
  '@libp2p/identify',
  '@libp2p/ping',
  '@libp2p/tcp',
  '@noble/ciphers/salsa.js',
  '@libp2p/bootstrap',
  '@libp2p/mdns',
];

/** Lets the event loop handle waiting I/O (requests) before the next piece. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function loadMeshLink(): Promise<typeof MeshLink> {
  for (const name of MESH_PACKAGES) {
    await nextTurn();
    await import(name);
  }
  await nextTurn();
  await import('../mesh/index.ts');
  await nextTurn();
  return (await import('./mesh-link.ts')).MeshLink;
}
