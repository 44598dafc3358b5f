/**
 * What the OpenAPI document says of a resource's access policy (server/kit/access.ts): each operation's
 * least role as `x-required-role` and in its description, and its 403 answer. For an `:own` rule,
 * `x-others-rows-role` is the role a row created by someone else needs.
 */
import { describeRule, OWN_OVERRIDE } from "../kit/access.js";
import type { AccessPolicy, Operation } from "../kit/access.js";

/** The operation each HTTP method of a resource's routes is. */
const OPERATION_OF_METHOD: Record<string, Operation> = { get: "read", post: "create", put: "update", patch: "update", delete: "delete" };

interface OperationObject {
  description?: string;
  responses: Record<string, unknown>;
  [extension: `x-${string}`]: unknown;
}

/** Adds the role and the 403 of `policy` to every operation of one path item (`{ get, post }`), in place. */
export function documentAccess(pathItem: Record<string, unknown>, policy: AccessPolicy, forbidden: unknown): void {
  for (const [method, value] of Object.entries(pathItem)) {
    const operation = OPERATION_OF_METHOD[method];
    if (operation === undefined) continue;
    const rule = policy[operation];
    const target = value as OperationObject;
    target["x-required-role"] = rule.role;
    if (rule.own) target["x-others-rows-role"] = OWN_OVERRIDE;
    const requirement = `Requires the role ${describeRule(rule)} (the token's role claim, JWT_ROLE_CLAIM).`;
    target.description = target.description ? `${target.description}\n\n${requirement}` : requirement;
    // In status order, as the rest of the document lists them.
    target.responses = Object.fromEntries(Object.entries({ ...target.responses, "403": forbidden }).sort(([a], [b]) => a.localeCompare(b)));
  }
}
