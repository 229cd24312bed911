// The manual reservation API (SPEC §6): subnets and reservations over HTTP. Validate with zod,
// call the allocator, map the result. Errors are thrown as DomainError and mapped by the app.
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { DomainError, Reason } from '../../shared/domain/errors.ts';
import type { Allocator } from '../../shared/ipam/index.ts';
import { createManualReservations, type ManualReservation } from '../../shared/reservation/manual.ts';
import type { FunctionsEnv, OpenApiInit } from '../env.ts';
import {
  DeleteQuery,
  ErrorBody,
  ListQuery,
  NameParam,
  OwnerParams,
  Released,
  Reservation,
  ReservationBody,
  ReservationList,
  Subnet,
  SubnetParam,
  SubnetSpecBody,
} from './schemas.ts';

export interface ReservationPorts {
  readonly allocator: Allocator;
  /**
   * Where the Kubernetes side runs in the same process: a manual reservation or release in a
   * subnet, so a Kubernetes Subnet's counts include it and Vips waiting on an address get another
   * pass. Absent in the API-only builds (nothing there to tell).
   */
  readonly subnetChanged?: (subnet: string, change?: 'released') => void;
}

const security = [{ bearerAuth: [] }];
const errors = (...codes: (400 | 401 | 404 | 409 | 503)[]) =>
  Object.fromEntries(
    codes.map((code) => [
      code,
      { description: ERROR_TEXT[code], content: { 'application/json': { schema: ErrorBody } } },
    ]),
  );
const ERROR_TEXT = {
  400: 'InvalidRequest, InvalidAddress, InvalidMAC, InvalidSubnet, AddressOutOfRange',
  401: 'Unauthorized: missing or wrong bearer token',
  404: 'SubnetNotFound or ReservationNotFound',
  409: 'AddressConflict, MACConflict, SubnetFull, ImmutableField, SubnetInUse, ManagedByKubernetes (a subnet or owner of the Kubernetes side: read-only here)',
  503: 'SubnetNotReady or Unavailable (Redis unreachable): retry',
} as const;
const json = <T>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const registerSubnet = createRoute({
  method: 'post',
  path: '/v1/subnets',
  summary:
    'Register a subnet for manual reservations (idempotent; new excludeIps/gateway are applied). A subnet a Kubernetes Subnet declares is refused: 409 ManagedByKubernetes',
  security,
  request: { body: { content: { 'application/json': { schema: SubnetSpecBody } }, required: true } },
  responses: { 200: json(Subnet, 'The subnet as stored (canonical form)'), ...errors(400, 401, 409, 503) },
});

const getSubnet = createRoute({
  method: 'get',
  path: '/v1/subnets/{name}',
  summary: 'A subnet with its status counts',
  security,
  request: { params: NameParam },
  responses: { 200: json(Subnet, 'The subnet and its counts'), ...errors(401, 404, 503) },
});

const deleteSubnet = createRoute({
  method: 'delete',
  path: '/v1/subnets/{name}',
  summary:
    'Delete a subnet (refused while it has reservations, unless force=true; always refused for a Kubernetes subnet)',
  security,
  request: { params: NameParam, query: DeleteQuery },
  responses: { 204: { description: 'Deleted' }, ...errors(401, 404, 409, 503) },
});

const createReservation = createRoute({
  method: 'post',
  path: '/v1/subnets/{subnet}/reservations',
  summary:
    'Reserve an address (dynamic or fixed) and a MAC for a manual owner; idempotent by owner. Also in Kubernetes subnets; owners vip/… and pod/… are refused (409 ManagedByKubernetes)',
  security,
  request: {
    params: SubnetParam,
    body: { content: { 'application/json': { schema: ReservationBody } }, required: true },
  },
  responses: {
    201: json(Reservation, 'Reserved now'),
    200: json(Reservation, 'The owner already held this reservation'),
    ...errors(400, 401, 404, 409, 503),
  },
});

const getReservation = createRoute({
  method: 'get',
  path: '/v1/subnets/{subnet}/reservations/{owner}',
  summary: "An owner's reservation",
  security,
  request: { params: OwnerParams },
  responses: { 200: json(Reservation, 'The reservation'), ...errors(401, 404, 503) },
});

const listReservations = createRoute({
  method: 'get',
  path: '/v1/subnets/{subnet}/reservations',
  summary: 'Reservations of a subnet, by owner, a page at a time',
  security,
  request: { params: SubnetParam, query: ListQuery },
  responses: { 200: json(ReservationList, 'One page'), ...errors(400, 401, 404, 503) },
});

const releaseReservation = createRoute({
  method: 'delete',
  path: '/v1/subnets/{subnet}/reservations/{owner}',
  summary:
    "Release a manual owner's reservation (idempotent: released=false when it held nothing); a Kubernetes owner's is refused (409 ManagedByKubernetes)",
  security,
  request: { params: OwnerParams },
  responses: { 200: json(Released, 'Whether something was released'), ...errors(401, 404, 409, 503) },
});

const toBody = (r: ManualReservation) => ({
  subnet: r.subnet,
  owner: r.owner,
  ...(r.v4 ? { v4ip: r.v4 } : {}),
  ...(r.v6 ? { v6ip: r.v6 } : {}),
  macAddress: r.mac,
  managedBy: r.managedBy,
});

/** The reservation routes; `hook` is the app's zod error mapper (shared by every route group). */
export function createReservationRoutes(ports: ReservationPorts, hook: OpenApiInit) {
  const app = new OpenAPIHono<FunctionsEnv>(hook);
  const allocator = createManualReservations(ports.allocator);

  app.openapi(registerSubnet, async (c) => {
    const body = c.req.valid('json');
    const info = await allocator.registerSubnet(body);
    return c.json({ ...info, excludeIps: [...info.excludeIps] }, 200);
  });

  app.openapi(getSubnet, async (c) => {
    const { name } = c.req.valid('param');
    const info = await allocator.getSubnet(name);
    if (!info)
      throw new DomainError(Reason.SubnetNotFound, `subnet ${name} is not registered`, { subnet: name });
    const n = await allocator.counts(name);
    return c.json(
      {
        ...info,
        excludeIps: [...info.excludeIps],
        status: {
          v4availableIPs: n.v4AvailableIPs,
          v4usingIPs: n.v4UsingIPs,
          v4usingIPrange: n.v4UsingIPRange,
          v6availableIPs: n.v6AvailableIPs,
          v6usingIPs: n.v6UsingIPs,
          v6usingIPrange: n.v6UsingIPRange,
        },
      },
      200,
    );
  });

  app.openapi(deleteSubnet, async (c) => {
    const { name } = c.req.valid('param');
    const { force } = c.req.valid('query');
    const existed = await allocator.deleteSubnet(name, { force: force === 'true' });
    if (!existed)
      throw new DomainError(Reason.SubnetNotFound, `subnet ${name} is not registered`, { subnet: name });
    return c.body(null, 204);
  });

  app.openapi(createReservation, async (c) => {
    const { subnet } = c.req.valid('param');
    const body = c.req.valid('json');
    const r = await allocator.allocate({
      subnet,
      owner: body.owner,
      v4: body.v4ip,
      v6: body.v6ip,
      mac: body.macAddress,
    });
    if (r.created) ports.subnetChanged?.(subnet);
    return r.created ? c.json(toBody(r), 201) : c.json(toBody(r), 200);
  });

  app.openapi(getReservation, async (c) => {
    const { subnet, owner } = c.req.valid('param');
    const r = await allocator.get(subnet, owner);
    if (!r) {
      throw new DomainError(
        Reason.ReservationNotFound,
        `owner ${owner} holds no reservation in subnet ${subnet}`,
        {
          subnet,
          owner,
        },
      );
    }
    return c.json(toBody(r), 200);
  });

  app.openapi(listReservations, async (c) => {
    const { subnet } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    const page = await allocator.list(subnet, { limit, cursor });
    return c.json(
      { items: page.items.map(toBody), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) },
      200,
    );
  });

  app.openapi(releaseReservation, async (c) => {
    const { subnet, owner } = c.req.valid('param');
    if (!(await allocator.getSubnet(subnet))) {
      throw new DomainError(Reason.SubnetNotFound, `subnet ${subnet} is not registered`, { subnet });
    }
    const released = await allocator.release(subnet, owner);
    if (released) ports.subnetChanged?.(subnet, 'released');
    return c.json({ released }, 200);
  });

  return app;
}
