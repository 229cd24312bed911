// Maps domain reasons to HTTP status codes. The body is always { reason, message, details? }.
import type { ContentfulStatusCode } from 'hono/utils/http-status';

const STATUS: Record<string, ContentfulStatusCode> = {
  InvalidRequest: 400,
  InvalidAddress: 400,
  InvalidMAC: 400,
  InvalidSubnet: 400,
  InvalidSpec: 400,
  AddressOutOfRange: 400,
  Unauthorized: 401,
  SubnetNotFound: 404,
  ReservationNotFound: 404,
  NotFound: 404,
  AddressConflict: 409,
  MACConflict: 409,
  SubnetFull: 409,
  ImmutableField: 409,
  SubnetInUse: 409,
  ManagedByKubernetes: 409,
  SubnetNotReady: 503,
  Unavailable: 503,
};

export const statusOf = (reason: string): ContentfulStatusCode => STATUS[reason] ?? 500;

export interface ErrorPayload {
  reason: string;
  message: string;
  details?: Record<string, string>;
}
