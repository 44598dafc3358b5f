/**
 * Live-update test helpers: an `onChange` subscriber through the real client (`createKuarkClient`, its
 * `httpSubscriptionLink` over the `eventsource` ponyfill: Node.js 20 has no EventSource), recording what it
 * receives, for features and for any registered resource; and a raw SSE reader for what the client hides
 * (the stream's end, headers).
 */
import { EventSource } from "eventsource";
import { expect } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import type { Feature } from "../../client/src/index.js";
import { definitions } from "../../server/resources/definitions.js";
import type { ResourceKey } from "../../server/resources/definitions.js";

export interface ReceivedChange {
  id: string;
  type: "created" | "updated" | "deleted";
  feature: Feature;
}

/** A change of any resource, as its `onChange` delivered it: the entity under `entity` (whatever the resource's entity key). */
export interface ReceivedResourceChange {
  id: string;
  type: "created" | "updated" | "deleted";
  entity: { id: string } & Record<string, unknown>;
}

export interface Subscriber<TChange = ReceivedChange> {
  changes: TChange[];
  /** The error that ended the subscription, if one did. */
  error: { code: string | undefined; message: string } | undefined;
  /**
   * Errors the link reconnected after (tRPC retries BAD_GATEWAY, SERVICE_UNAVAILABLE, GATEWAY_TIMEOUT and
   * INTERNAL_SERVER_ERROR by itself, resuming from the last event id): each with its code, in order.
   */
  retried: { code: string | undefined; message: string }[];
  /** Whether the stream has said it started (the server accepted the subscription). */
  started: boolean;
  /** Resolves once `count` changes have arrived (fails after `timeoutMs`). */
  waitForChanges(count: number, timeoutMs?: number): Promise<TChange[]>;
  waitForError(timeoutMs?: number): Promise<{ code: string | undefined; message: string }>;
  waitStarted(timeoutMs?: number): Promise<void>;
  stop(): void;
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type ClientError = { data?: { code?: string } | null; message: string };

interface Handlers<TEnvelope> {
  onStarted: () => void;
  onData: (envelope: TEnvelope) => void;
  onError: (error: ClientError) => void;
  onConnectionStateChange: (state: { state: string; error: ClientError | null }) => void;
}

/** The recording subscriber around one `subscribe` call of the client. */
function recording<TEnvelope, TChange>(
  subscribe: (handlers: Handlers<TEnvelope>) => { unsubscribe(): void },
  toChange: (envelope: TEnvelope) => TChange,
): Subscriber<TChange> {
  const state: Subscriber<TChange> = {
    changes: [],
    error: undefined,
    retried: [],
    started: false,
    async waitForChanges(count, timeoutMs = 5_000) {
      await until(() => state.changes.length >= count || state.error !== undefined, timeoutMs, `${count} changes (have ${state.changes.length})`);
      if (state.changes.length < count) throw new Error(`subscription ended with ${state.error?.code}: ${state.error?.message}`);
      return state.changes;
    },
    async waitForError(timeoutMs = 5_000) {
      await until(() => state.error !== undefined, timeoutMs, "an error");
      return state.error as { code: string | undefined; message: string };
    },
    async waitStarted(timeoutMs = 5_000) {
      await until(() => state.started || state.error !== undefined, timeoutMs, "the stream to start");
      // The hub registers the subscriber before the stream's first read; give the server that turn.
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    stop: () => subscription.unsubscribe(),
  };
  const subscription = subscribe({
    onStarted: () => (state.started = true),
    onData: (envelope) => {
      state.changes.push(toChange(envelope));
    },
    onError: (error) => {
      state.error = { code: error.data?.code, message: error.message };
    },
    onConnectionStateChange: ({ state: connection, error }) => {
      if (connection === "connecting" && error) state.retried.push({ code: error.data?.code, message: error.message });
    },
  });
  return state;
}

export function subscribeToFeatures(url: string, token: string | undefined, input?: { lastEventId?: string | null; status?: "ACTIVE" | "INACTIVE"; search?: string }): Subscriber {
  const client = createKuarkClient({ url: `${url}/trpc`, getToken: () => token, EventSource });
  return recording<{ id: string; data: { type: ReceivedChange["type"]; feature: Feature } }, ReceivedChange>(
    (handlers) => client.features.onChange.subscribe(input, handlers),
    ({ id, data }) => ({ id, type: data.type, feature: data.feature }),
  );
}

type LooseEnvelope = { id: string; data: { type: ReceivedResourceChange["type"] } & Record<string, unknown> };
type LooseOnChange = { onChange: { subscribe(input: unknown, handlers: Handlers<LooseEnvelope>): { unsubscribe(): void } } };

/** `subscribeToFeatures` for any registered resource (`key`), as registry-wide tests need it. */
export function subscribeToChanges(url: string, token: string | undefined, key: ResourceKey, input?: { lastEventId?: string | null }): Subscriber<ReceivedResourceChange> {
  const client = createKuarkClient({ url: `${url}/trpc`, getToken: () => token, EventSource });
  const routers = client as unknown as Record<string, LooseOnChange>;
  const { entityKey } = definitions[key];
  return recording<LooseEnvelope, ReceivedResourceChange>(
    (handlers) => (routers[key] as LooseOnChange).onChange.subscribe(input, handlers),
    ({ id, data }) => ({ id, type: data.type, entity: data[entityKey] as ReceivedResourceChange["entity"] }),
  );
}

/** The changes' types and feature ids, for comparing sequences. */
export const summary = (changes: ReceivedChange[]) => changes.map((c) => [c.type, c.feature.id]);
/** The same for any resource's changes. */
export const summaryOf = (changes: ReceivedResourceChange[]) => changes.map((c) => [c.type, c.entity.id]);

/** Ids strictly increase: the order the events were written in. */
export function expectIncreasingIds(changes: ReceivedChange[]): void {
  const ids = changes.map((c) => BigInt(c.id));
  for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
}

/**
 * Opens the raw SSE stream of `features.onChange` with `headers` and collects its text until it ends
 * (or `abort` is called): what the server wrote, exactly.
 */
export function rawStream(url: string, headers: Record<string, string>, query = "") {
  const controller = new AbortController();
  let text = "";
  let status = 0;
  const done = (async () => {
    const res = await fetch(`${url}/trpc/features.onChange${query}`, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal });
    status = res.status;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done: ended } = (await reader.read()) as { value: Uint8Array | undefined; done: boolean };
      if (ended) return;
      text += decoder.decode(value, { stream: true });
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  return {
    get text() {
      return text;
    },
    get status() {
      return status;
    },
    /** Resolves when the server ends the stream. */
    ended: done,
    waitFor: (needle: string, timeoutMs = 5_000) => until(() => text.includes(needle), timeoutMs, `"${needle}" in the stream`),
    abort: () => controller.abort(),
  };
}
