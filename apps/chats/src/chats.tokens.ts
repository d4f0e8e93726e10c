/** The RPC transport instance, so health and metrics can look at it. */
export const RPC_SERVER = Symbol('RPC_SERVER');
