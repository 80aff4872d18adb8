import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

// JSON Schemas of the HTTP API (TypeBox: typed at compile time, validated by Fastify's Ajv at
// run time, so a bad request is refused before any handler runs, naming the field).

/** A context feature value: a categorical id, a numeric value, or a multi-valued feature's ids. */
const ContextValue = Type.Union([Type.Number(), Type.Array(Type.Number(), { maxItems: 64 })]);
const Context = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), ContextValue);
const User = Type.String({ minLength: 1, maxLength: 512 });
const Item = Type.Integer({ minimum: 0 });
/** Epoch seconds. */
const Time = Type.Number();

export const Candidate = Type.Object({ item: Item, context: Type.Optional(Context) }, { additionalProperties: false });

export function scoreRequestSchema(maxCandidates: number) {
  return Type.Object(
    {
      user: User,
      candidates: Type.Array(Candidate, { minItems: 1, maxItems: maxCandidates }),
      time: Type.Optional(Time),
    },
    { additionalProperties: false },
  );
}

export function batchScoreRequestSchema(maxCandidates: number, maxUsers: number) {
  return Type.Object({ requests: Type.Array(scoreRequestSchema(maxCandidates), { minItems: 1, maxItems: maxUsers }) }, { additionalProperties: false });
}

export const EventSchema = Type.Object(
  {
    /** Idempotency key: a non-negative integer (increasing per user) or a string of 1–255 bytes. */
    id: Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.String({ minLength: 1, maxLength: 255 })]),
    item: Item,
    time: Time,
    context: Type.Optional(Context),
  },
  { additionalProperties: false },
);

export function eventsRequestSchema(maxEvents: number) {
  return Type.Object({ user: User, events: Type.Array(EventSchema, { minItems: 1, maxItems: maxEvents }) }, { additionalProperties: false });
}

export type ScoreRequest = Static<ReturnType<typeof scoreRequestSchema>>;
export type BatchScoreRequest = Static<ReturnType<typeof batchScoreRequestSchema>>;
export type EventsRequest = Static<ReturnType<typeof eventsRequestSchema>>;
export type ServingEvent = Static<typeof EventSchema>;
