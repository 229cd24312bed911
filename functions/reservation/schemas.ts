// Request and response shapes of the reservation API (zod, documented in /openapi.json).
import { z } from '@hono/zod-openapi';

export const ErrorBody = z
  .object({
    reason: z.string().openapi({ example: 'AddressConflict' }),
    message: z.string().openapi({ example: '10.16.0.5 is already held by vip/a in subnet ovn-default' }),
    details: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ example: { holder: 'vip/a', field: 'v4' } }),
  })
  .openapi('Error');

export const SubnetSpecBody = z
  .object({
    name: z.string().min(1).max(253).openapi({ example: 'ovn-default' }),
    cidrBlock: z.string().min(1).openapi({ example: '10.16.0.0/16' }),
    gateway: z.string().optional().openapi({ example: '10.16.0.1' }),
    excludeIps: z
      .array(z.string())
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
    owner: z.string().min(1).max(500).openapi({
      example: 'lb/web',
      description:
        'Any name; stored in the manual owner namespace. vip/… and pod/… are Kubernetes owners: 409 ManagedByKubernetes',
    }),
    v4ip: z.string().optional().openapi({ example: '10.16.0.100' }),
    v6ip: z.string().optional().openapi({ example: 'fd00:10:16::100' }),
    macAddress: z.string().optional().openapi({ example: '00:00:00:0A:1B:2C' }),
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
  subnet: z
    .string()
    .min(1)
    .openapi({ param: { name: 'subnet', in: 'path' }, example: 'ovn-default' }),
});
export const NameParam = z.object({
  name: z
    .string()
    .min(1)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'ovn-default' }),
});
export const OwnerParams = z.object({
  subnet: z
    .string()
    .min(1)
    .openapi({ param: { name: 'subnet', in: 'path' }, example: 'ovn-default' }),
  owner: z
    .string()
    .min(1)
    .openapi({
      param: { name: 'owner', in: 'path' },
      example: 'vip%2Fweb',
      description: 'URL-encoded owner',
    }),
});
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().openapi({ example: 100 }),
  cursor: z.string().optional(),
});
export const DeleteQuery = z.object({
  force: z.enum(['true', 'false']).optional().openapi({ description: 'release every reservation first' }),
});
