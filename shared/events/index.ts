export * from './decode.ts';
export * from './encode.ts';
export * from './errors.ts';
export * from './outcome.ts';
export * from './signature.ts';
export * from './subject.ts';
export * from './types.ts';
