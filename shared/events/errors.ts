// Why an incoming event was refused before any handler ran. Stable names: they appear in HTTP bodies.
export const EventReason = {
  Unauthenticated: 'Unauthenticated',
  MalformedEvent: 'MalformedEvent',
  UnsupportedEventType: 'UnsupportedEventType',
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
