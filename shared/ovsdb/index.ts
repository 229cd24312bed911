// Public surface of the OVSDB client (RFC 7047). No schema-specific names live in this folder.
export * from './client.ts';
export * from './errors.ts';
export * from './framing.ts';
export * from './protocol.ts';
export { JsonRpcConnection, type RpcOptions } from './rpc.ts';
export { parseRemote, parseRemotes, type Remote, type SslFiles, sslFileOptions } from './transport.ts';
