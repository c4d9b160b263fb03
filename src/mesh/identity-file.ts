// The file name of the node's mesh key, in a module of its own so code that only reads the file need not load libp2p.
export const IDENTITY_FILE = 'mesh-identity.key';
