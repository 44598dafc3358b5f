/**
 * Roles and access policies, enforced in one place for every resource and both surfaces.
 *
 * A caller has one role of the ladder `viewer < member < admin < owner` (server/contract/roles.ts), or none
 * when its token claims a role the service does not know (`Actor.role` null): then every procedure of every
 * resource is FORBIDDEN. A resource's policy gives, for each operation (`read`: byId, list, infinite,
 * history, onChange; `create`; `update`; `delete`), the least role allowed; `:own` on `update` or `delete`
 * adds that a row created by someone else needs `admin` or more. The policy is declared in the resource's
 * registration (`defineResource({ access })`), the default filled in.
 *
 * `withAccess` wraps a resource's service: every method checks the role first, before any data is touched,
 * so tRPC (fast paths included) and REST cannot differ. `:own` is not a check here: `ownedBy` is a condition
 * the service adds to the scoped UPDATE itself, and `notOwnedRefusal` says why the statement matched nothing.
 */
import { ROLES } from "../contract/roles.js";
import type { Role } from "../contract/roles.js";
import { ForbiddenError } from "./errors.js";
import type { Actor, Row } from "./scope.js";

/** What a policy rules on; each procedure is one of them (`PROCEDURE_OPERATIONS`). */
export const OPERATIONS = ["read", "create", "update", "delete"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Every procedure of a resource and the operation its policy rule is. */
export const PROCEDURE_OPERATIONS = {
  create: "create",
  list: "read",
  infinite: "read",
  byId: "read",
  update: "update",
  delete: "delete",
  history: "read",
  onChange: "read",
} as const satisfies Record<string, Operation>;
export type ResourceProcedure = keyof typeof PROCEDURE_OPERATIONS;

/** The least role of an operation; `own`: a row created by someone else needs `OWN_OVERRIDE` or more. */
export interface AccessRule {
  role: Role;
  own: boolean;
}

/** A resource's whole policy: one rule per operation. */
export type AccessPolicy = Readonly<Record<Operation, AccessRule>>;

/** A rule as written: `"member"`, `"member:own"`. */
export type AccessRuleText = Role | `${Role}:own`;

/** What a registration declares: the operations whose rule differs from the default. */
export type AccessDeclaration = Partial<Record<Operation, AccessRuleText>>;

/** Reads for everyone of the organization, writes for members: today's role-less tokens keep today's powers. */
export const DEFAULT_POLICY: AccessPolicy = Object.freeze({
  read: { role: "viewer", own: false },
  create: { role: "member", own: false },
  update: { role: "member", own: false },
  delete: { role: "member", own: false },
});

/** Who may change a row created by someone else, whatever `:own` says. */
export const OWN_OVERRIDE: Role = "admin";

/** Only a write of an existing row has a creator to compare with. */
const OWN_OPERATIONS: readonly Operation[] = ["update", "delete"];

export const rankOf = (role: Role): number => ROLES.indexOf(role);

/** Whether `role` is `least` or above it. */
export const atLeast = (role: Role, least: Role): boolean => rankOf(role) >= rankOf(least);

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);

/** A declaration that is not a policy: an unknown operation or role, a bad rule, `:own` where it means nothing. */
export class AccessDeclarationError extends Error {
  override name = "AccessDeclarationError";
}

/** One rule from its text (`"member:own"`), checked. */
export function ruleOf(operation: Operation, text: string): AccessRule {
  const match = /^([a-z]+)(:own)?$/.exec(text);
  const role = match?.[1];
  if (!match || role === undefined) throw new AccessDeclarationError(`${operation}=${text}: write a role (${ROLES.join(", ")}), optionally followed by :own`);
  if (!isRole(role)) throw new AccessDeclarationError(`${operation}=${text}: "${role}" is not a role (${ROLES.join(", ")})`);
  const own = match[2] !== undefined;
  if (own && !OWN_OPERATIONS.includes(operation)) throw new AccessDeclarationError(`${operation}=${text}: :own applies to ${OWN_OPERATIONS.join(" and ")} only`);
  return { role, own };
}

/** The whole policy of a declaration: the default for every operation it leaves out. */
export function policyOf(declaration: AccessDeclaration | undefined): AccessPolicy {
  const policy: Record<Operation, AccessRule> = { ...DEFAULT_POLICY };
  for (const [operation, text] of Object.entries(declaration ?? {})) {
    if (!(OPERATIONS as readonly string[]).includes(operation)) throw new AccessDeclarationError(`"${operation}" is not an operation (${OPERATIONS.join(", ")})`);
    if (text === undefined) continue;
    policy[operation as Operation] = ruleOf(operation as Operation, text);
  }
  return Object.freeze(policy);
}

/** `read=viewer,create=member,update=member:own,delete=admin` (the generator's `--access`) as a declaration. */
export function parseAccessText(text: string): AccessDeclaration {
  const declaration: Record<string, string> = {};
  for (const part of text.split(",")) {
    const [operation, rule, ...extra] = part.trim().split("=");
    if (!operation || !rule || extra.length > 0) throw new AccessDeclarationError(`"${part}" is not a rule: write <operation>=<role>[:own], e.g. delete=admin`);
    if (operation in declaration) throw new AccessDeclarationError(`${operation} is given twice`);
    declaration[operation] = rule;
  }
  policyOf(declaration);
  return declaration;
}

export const ruleText = (rule: AccessRule): AccessRuleText => (rule.own ? `${rule.role}:own` : rule.role);

/** The operations of `policy` that differ from the default, as a registration writes them. */
export function declarationOf(policy: AccessPolicy): AccessDeclaration {
  const differing = OPERATIONS.filter((operation) => ruleText(policy[operation]) !== ruleText(DEFAULT_POLICY[operation]));
  return Object.fromEntries(differing.map((operation) => [operation, ruleText(policy[operation])]));
}

/** A rule in words, for messages and documents: "member or above; a row created by someone else needs admin". */
export function describeRule(rule: AccessRule): string {
  return `${rule.role} or above${rule.own && !atLeast(rule.role, OWN_OVERRIDE) ? `; a row created by someone else needs ${OWN_OVERRIDE} or above` : ""}`;
}

/** Why `actor` may not do `what` (`features.delete`) under `rule`; undefined: it may. */
export function roleRefusal(actor: Actor, rule: AccessRule, what: string): ForbiddenError | undefined {
  if (actor.role === null) {
    const claimed = actor.unknownRole === undefined ? "the caller's role" : `the role "${actor.unknownRole}"`;
    return new ForbiddenError(`${claimed} is not a role of this service (${ROLES.join(", ")}) nor mapped onto one by ROLE_MAP: it has no access`);
  }
  if (!atLeast(actor.role, rule.role)) return new ForbiddenError(`${what} requires the role ${rule.role} or above; the caller is ${actor.role}`);
  return undefined;
}

/** Throws when `actor` may not do `what` under `rule`. */
export function requireRole(actor: Actor, rule: AccessRule, what: string): void {
  const refusal = roleRefusal(actor, rule, what);
  if (refusal) throw refusal;
}

/**
 * The condition `:own` adds to the scoped statement of an update or delete: the caller's own rows only,
 * unless its role is `OWN_OVERRIDE` or above. Empty when the rule has no `:own`.
 */
export function ownedBy(actor: Actor, rule: AccessRule): { createdById?: string } {
  return rule.own && actor.role !== null && !atLeast(actor.role, OWN_OVERRIDE) ? { createdById: actor.sub } : {};
}

/**
 * When the statement under `ownedBy` matched nothing although `current` (the row read under the same lock)
 * exists: the refusal, if the row is someone else's. Undefined: it was not the ownership condition.
 */
export function notOwnedRefusal(actor: Actor, rule: AccessRule, current: Row, what: string): ForbiddenError | undefined {
  const condition = ownedBy(actor, rule);
  if (condition.createdById === undefined || current.createdById === condition.createdById) return undefined;
  return new ForbiddenError(`${what}: this row was created by someone else, which needs the role ${OWN_OVERRIDE} or above; the caller is ${actor.role}`);
}

/** What a resource procedure's tRPC `meta` says of its rule (the panel shows it). */
export interface AccessMeta {
  access: AccessRule & { operation: Operation; description: string };
}

export function accessMetaOf(policy: AccessPolicy, procedure: ResourceProcedure): AccessMeta {
  const operation = PROCEDURE_OPERATIONS[procedure];
  const rule = policy[operation];
  return { access: { ...rule, operation, description: describeRule(rule) } };
}

/** Each method of a resource service and the procedure it serves. */
const PROCEDURE_OF_METHOD = {
  create: "create",
  createWithKey: "create",
  list: "list",
  infinite: "infinite",
  byId: "byId",
  update: "update",
  softDelete: "delete",
  history: "history",
  onChange: "onChange",
} as const satisfies Record<string, ResourceProcedure>;
type ServiceMethod = keyof typeof PROCEDURE_OF_METHOD;

type Method = (actor: Actor, ...rest: never[]) => unknown;

/**
 * The service with its policy enforced: each method refuses a caller below its rule before it runs. The
 * compiler refuses a method this module does not know (every method needs its rule). A promise-returning
 * method rejects; `onChange` throws when called, so the subscription fails as it starts, before any event.
 */
export function withAccess<S extends Record<ServiceMethod, Method>>(resourceKey: string, policy: AccessPolicy, methods: S & Record<Exclude<keyof S, ServiceMethod>, never>): S {
  const guarded: Record<string, Method> = {};
  for (const [name, method] of Object.entries(methods)) {
    const procedure = (PROCEDURE_OF_METHOD as Record<string, ResourceProcedure | undefined>)[name];
    if (procedure === undefined) throw new Error(`resource ${resourceKey}: its service method ${name} has no access rule (server/kit/access.ts)`);
    const rule = policy[PROCEDURE_OPERATIONS[procedure]];
    const what = `${resourceKey}.${procedure}`;
    const stream = procedure === "onChange";
    guarded[name] = (actor, ...rest) => {
      const refusal = roleRefusal(actor, rule, what);
      if (!refusal) return method.call(methods, actor, ...rest);
      if (stream) throw refusal;
      return Promise.reject(refusal);
    };
  }
  return guarded as S;
}
