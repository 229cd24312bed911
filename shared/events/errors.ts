// Why an incoming event was refused before any handler ran. Stable names: they appear in HTTP bodies.
export const EventReason = {
  Unauthenticated: 'Unauthenticated',
  MalformedEvent: 'MalformedEvent',
  UnsupportedEventType: 'UnsupportedEventType',
  /** JSON nesting deeper than MAX_JSON_DEPTH (shared/json-depth.ts). */
  NestingTooDeep: 'NestingTooDeep',
  /** More events in one batch than the endpoint takes (answered 413). */
  PayloadTooLarge: 'PayloadTooLarge',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

export class EventError extends Error {
  override readonly name = 'EventError';
  constructor(
    readonly reason: EventReason,
    message: string,
  ) {
    super(message);
  }
}

export const isEventError = (err: unknown): err is EventError => err instanceof EventError;
