// Request and response shapes of the reservation API (zod, documented in /openapi.json).
import { z } from '@hono/zod-openapi';
import { vipOwner } from '../../shared/domain/ownership.ts';

// With the u flag a surrogate pair is one code point, so this matches only a lone surrogate
// (e.g. "\ud800" in JSON), which Redis and JSON encoders would turn into U+FFFD or refuse.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
/** A string that is valid Unicode text (no lone surrogate). */
const text = () =>
  z
    .string()
    .refine((s) => !LONE_SURROGATE.test(s), { message: 'must be valid Unicode (it holds a lone surrogate)' });

/** Well-formed UTF-8 of a cursor's bytes, or undefined. */
const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * A page cursor is the base64url (no padding) of the last owner of the previous page; anything
 * else was not made by this API. The round trip refuses non-canonical encodings too.
 */
export function isCursor(cursor: string): boolean {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor) || cursor.length % 4 === 1) return false;
  try {
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const owner = utf8.decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
    const again = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    return again === cursor && owner.length > 0 && owner.length <= 512;
  } catch {
    return false;
  }
}

export const ErrorBody = z
  .object({
    reason: z.string().openapi({ example: 'AddressConflict' }),
    message: z.string().openapi({ example: '10.16.0.5 is already held by vip/a in subnet ovn-default' }),
    details: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ example: { holder: vipOwner('a'), field: 'v4' } }),
  })
  .openapi('Error');

export const SubnetSpecBody = z
  .object({
    name: text().min(1).max(253).openapi({ example: 'ovn-default' }),
    cidrBlock: text().min(1).max(200).openapi({ example: '10.16.0.0/16' }),
    gateway: text().max(200).optional().openapi({ example: '10.16.0.1' }),
    excludeIps: z
      .array(text().max(200))
      .max(1000)
      .optional()
      .openapi({ example: ['10.16.0.1..10.16.0.10'] }),
  })
  .openapi('SubnetSpec');

export const Subnet = z
  .object({
    name: z.string(),
    cidrBlock: z.string(),
    gateway: z.string(),
    excludeIps: z.array(z.string()),
    protocol: z.enum(['IPv4', 'IPv6', 'Dual']),
    managedBy: z.enum(['kubernetes', 'manual']).openapi({
      description: 'kubernetes: a Subnet object declares it; the manual API may reserve in it, not change it',
    }),
    status: z
      .object({
        v4availableIPs: z.number(),
        v4usingIPs: z.number(),
        v4usingIPrange: z.string(),
        v6availableIPs: z.number(),
        v6usingIPs: z.number(),
        v6usingIPrange: z.string(),
      })
      .optional(),
  })
  .openapi('Subnet');

export const ReservationBody = z
  .object({
    owner: text().min(1).max(500).openapi({
      example: 'lb/web',
      description:
        'Any name; stored in the manual owner namespace. vip/… and pod/… are Kubernetes owners: 409 ManagedByKubernetes',
    }),
    v4ip: text().max(100).optional().openapi({ example: '10.16.0.100' }),
    v6ip: text().max(100).optional().openapi({ example: 'fd00:10:16::100' }),
    macAddress: text().max(100).optional().openapi({ example: '00:00:00:0A:1B:2C' }),
  })
  .openapi('ReservationRequest');

export const Reservation = z
  .object({
    subnet: z.string(),
    owner: z.string(),
    v4ip: z.string().optional(),
    v6ip: z.string().optional(),
    macAddress: z.string(),
    managedBy: z.enum(['kubernetes', 'manual']).openapi({
      description: 'kubernetes: a Vip or pod holds it (read-only here)',
    }),
  })
  .openapi('Reservation');

export const ReservationList = z
  .object({
    items: z.array(Reservation),
    nextCursor: z.string().optional().openapi({ description: 'Pass as ?cursor= to get the next page.' }),
  })
  .openapi('ReservationList');

export const Released = z.object({ released: z.boolean() }).openapi('Released');

export const SubnetParam = z.object({
  subnet: text()
    .min(1)
    .max(253)
    .openapi({ param: { name: 'subnet', in: 'path' }, example: 'ovn-default' }),
});
export const NameParam = z.object({
  name: text()
    .min(1)
    .max(253)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'ovn-default' }),
});
export const OwnerParams = z.object({
  subnet: text()
    .min(1)
    .max(253)
    .openapi({ param: { name: 'subnet', in: 'path' }, example: 'ovn-default' }),
  owner: text()
    .min(1)
    .max(512)
    .openapi({
      param: { name: 'owner', in: 'path' },
      example: 'vip%2Fweb',
      description: 'URL-encoded owner',
    }),
});
export const ListQuery = z.object({
  // Digits only: Number() would take '1e2', '0x10', ' 5' and '5.0' as well.
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, { message: 'must be a whole number from 1 to 1000, in decimal digits' })
    .transform(Number)
    .pipe(z.number().max(1000, { message: 'must be a whole number from 1 to 1000' }))
    .optional()
    .openapi({ type: 'integer', minimum: 1, maximum: 1000, example: 100 }),
  cursor: z
    .string()
    .refine(isCursor, { message: 'is not a cursor this API gave out (pass nextCursor of the previous page)' })
    .optional(),
});
export const DeleteQuery = z.object({
  force: z.enum(['true', 'false']).optional().openapi({ description: 'release every reservation first' }),
});
