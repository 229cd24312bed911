// Shared by the ipam tests: a client on the run's real Redis and unique subnet names per test.
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { DomainError } from '../../shared/domain/errors.ts';

export const connect = () => new Redis(inject('redisUrl'), { maxRetriesPerRequest: 3 });

let n = 0;
export const uniqueName = (base: string) => `${base}-${process.pid}-${Date.now().toString(36)}-${n++}`;

/** The DomainError reason a promise rejects with ('resolved' if it does not). */
export async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (e instanceof DomainError) return e.reason;
    throw e;
  }
}

/** A random locally administered unicast MAC (02:...), upper-case, unlikely to collide across tests. */
export const randomMac = () =>
  [
    '02',
    ...Array.from({ length: 5 }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ),
  ]
    .join(':')
    .toUpperCase();
