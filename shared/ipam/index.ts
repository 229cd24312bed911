// Public surface of the address allocator (SPEC §2).

export { canonicalIp, type Family, formatIp, type Ip, parseCidr, parseIp } from '../domain/ip-codec.ts';
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
export { canonicalMac } from './mac.ts';
export { type MacLayout, readMacLayout, switchMacLayout } from './redis/mac-layout.ts';
export { createRedisAllocator, type RedisAllocatorOptions } from './redis/redis-allocator.ts';
export { type FamilyRange, formatUsingRange, type SubnetRange, subnetRange } from './subnet-range.ts';
