// Public surface of the address allocator (SPEC §2).
export type {
  AllocateRequest,
  Allocation,
  Allocator,
  DeleteSubnetOptions,
  ListOptions,
  RegisterOptions,
  ReplaceRequest,
  Reservation,
  ReservationPage,
  SubnetCounts,
  SubnetInfo,
  SubnetManager,
  SubnetSpec,
  Violation,
} from './allocator.ts';
export { canonicalIp, type Family, formatIp, type Ip, parseCidr, parseIp } from './ip.ts';
export { canonicalMac } from './mac.ts';
export { createRedisAllocator, type RedisAllocatorOptions } from './redis/redis-allocator.ts';
export { type FamilyRange, formatUsingRange, type SubnetRange, subnetRange } from './subnet-range.ts';
