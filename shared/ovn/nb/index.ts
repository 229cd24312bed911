// OVN Northbound: typed rows, pure operations, and the writer that sends them.
export * from './connect.ts';
export * from './model.ts';
export * from './ops/load-balancer.ts';
export * from './ops/logical-switch.ts';
export * from './ops/logical-switch-port.ts';
export * from './port-cache.ts';
export * from './writer.ts';
