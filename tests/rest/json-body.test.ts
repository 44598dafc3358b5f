/**
 * A REST write whose body is not sent as JSON says so: 422 at `loc: ["body"]` with a message naming the
 * Content-Type it needs, not "Field required" (what no body at all still answers, as FastAPI does).
 */
import { describe, expect, it } from "vitest";
import { testConfig } from "../support/app.js";
import { useTestApp } from "../support/fixtures.js";

const t = useTestApp({ server: true, config: testConfig({ RATE_LIMIT_PER_IP: "0", RATE_LIMIT_PER_ORG: "0" }) });
const NOT_JSON = [{ loc: ["body"], msg: "The body must be JSON, sent with Content-Type: application/json", type: "model_attributes_type" }];

describe("REST bodies not sent as JSON", () => {
  it("POST and PATCH with a JSON text but no Content-Type, or text/plain, answer 422 saying the body must be JSON", async () => {
    const owner = t.newOrg();
    const headers = { authorization: `Bearer ${owner.token}` };
    const body = JSON.stringify({ name: "Dark mode" });
    for (const contentType of [undefined, "text/plain"]) {
      const res = await fetch(`${t.server.url}/api/v1/features`, { method: "POST", headers: { ...headers, ...(contentType && { "content-type": contentType }) }, body: new Blob([body]) });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({ detail: NOT_JSON });
    }
    const created = await fetch(`${t.server.url}/api/v1/features`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const patched = await fetch(`${t.server.url}/api/v1/features/${id}`, { method: "PATCH", headers: { ...headers, "content-type": "text/plain" }, body: JSON.stringify({ name: "Night mode" }) });
    expect(patched.status).toBe(422);
    expect(await patched.json()).toEqual({ detail: NOT_JSON });
  });
});
