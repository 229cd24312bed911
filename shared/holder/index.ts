// status.holder: the parent OVN binds a Vip's address to (SPEC §1), from the southbound database.
export * from './mapping.ts';
export { type HolderKube, type HolderSync, type HolderSyncOptions, startHolderSync } from './sync.ts';
