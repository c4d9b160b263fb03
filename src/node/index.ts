// One Flow Router node: its components wired together. (The CLI imports identity.ts directly so it loads no server.)
export { FlowRouterNode, type NodeOptions } from './node.ts';
export { nodeIdentity, type NodeIdentity } from './identity.ts';
