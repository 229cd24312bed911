// Read-side views of the address space for people: the occupancy page and `kubectl vip`.
export * from './grid.ts';
export * from './read.ts';
export * from './trace.ts';
export * from './vips.ts';
export * from './who.ts';
