/**
 * The kit's errors carry a machine-readable reason in `error.data.reason` (server/kit/errors.ts), beside
 * tRPC's code: a client tells "events expired, refetch" from other refusals without reading a message.
 */
import { EventSource } from "eventsource";
import { describe, expect, it } from "vitest";
import { createKuarkClient } from "../../client/src/index.js";
import { testConfig } from "../support/app.js";
import { rejection, useTestApp } from "../support/fixtures.js";

const t = useTestApp({ server: true, config: testConfig({ SUBSCRIPTIONS_PER_ORG: "1" }) });

/** The first error of an onChange subscription, as the typed client hands it over. */
function firstError(token: string, input: { lastEventId?: string }) {
  const client = createKuarkClient({ url: `${t.server.url}/trpc`, getToken: () => token, EventSource });
  return new Promise<{ code: string | undefined; reason: string | undefined; stop: () => void }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no error within 5 s")), 5_000);
    const subscription = client.features.onChange.subscribe(input, {
      onError(error) {
        clearTimeout(timer);
        resolve({ code: error.data?.code, reason: error.data?.reason, stop: () => subscription.unsubscribe() });
      },
    });
  });
}

describe("error.data.reason", () => {
  it("EVENTS_EXPIRED for a lastEventId the change log does not keep", async () => {
    const owner = t.newOrg();
    const error = await firstError(owner.token, { lastEventId: "999999999999" });
    error.stop();
    expect(error).toMatchObject({ code: "PRECONDITION_FAILED", reason: "EVENTS_EXPIRED" });
  });

  it("TOO_MANY_SUBSCRIPTIONS past the organization's limit of open streams", async () => {
    const owner = t.newOrg();
    const client = createKuarkClient({ url: `${t.server.url}/trpc`, getToken: () => owner.token, EventSource });
    let started = false;
    const first = client.features.onChange.subscribe(undefined, { onStarted: () => (started = true) });
    for (let i = 0; i < 250 && !started; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const error = await firstError(owner.token, {});
    error.stop();
    first.unsubscribe();
    expect(error).toMatchObject({ code: "TOO_MANY_REQUESTS", reason: "TOO_MANY_SUBSCRIPTIONS" });
  });

  it("NOT_FOUND on a procedure call, through the same mapping", async () => {
    const owner = t.newOrg();
    const error = await rejection(owner.api.features.byId({ id: "00000000-0000-4000-8000-000000000000" }));
    expect(error.code).toBe("NOT_FOUND");
    const res = await fetch(`${t.server.url}/trpc/features.byId?input=${encodeURIComponent(JSON.stringify({ id: "00000000-0000-4000-8000-000000000000" }))}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(((await res.json()) as { error: { data: { reason?: string } } }).error.data.reason).toBe("NOT_FOUND");
  });
});
