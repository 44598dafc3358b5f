/**
 * A resource: what one registration in `server/resources/registry.ts` holds. Its contract says what travels
 * on the wire; its storage says where the rows live. The kit derives the service (`service.ts`), the tRPC
 * router (`router.ts`) and everything built from the registry (app router, `Services`, panel, client types).
 */
import type { z } from "zod";
import type { ResourceContract } from "../contract/common.js";
import type { OwnedModel } from "./scope.js";

export interface ResourceStorage {
  /** The Prisma model (`Feature`). It has the owned columns: id, organizationId, audit fields, deletedAt. */
  model: OwnedModel;
  /** Its table (`features`). Columns are the snake_case of the field names (`created_at`), as `@map` says. */
  table: string;
  /** The field `search` matches (case-insensitive substring, every character literal). */
  searchField: string;
  /** The PostgreSQL enum type of each enum-typed filter (`{ status: "FeatureStatus" }`), for raw SQL. */
  enumTypes?: Record<string, string>;
}

export interface Resource<TKey extends string = string, TContract extends ResourceContract = ResourceContract> {
  /** The router and services key, camelCase plural: `features`, `apiKeys`. */
  key: TKey;
  /** The entity's name, `Feature`: messages say "Feature not found". */
  name: string;
  contract: TContract;
  storage: ResourceStorage;
  /** A valid create input: the registry-wide tests create one per organization with it. */
  example: z.input<TContract["createInput"]>;
}

/** Declares a resource; the literal types of key and contract are kept for the router and the client. */
export function defineResource<TKey extends string, TContract extends ResourceContract>(resource: Resource<TKey, TContract>): Resource<TKey, TContract> {
  return resource;
}

export type EntityOf<C extends ResourceContract> = z.output<C["entity"]>;
export type CreateInputOf<C extends ResourceContract> = z.output<C["createInput"]>;
export type ListParamsOf<C extends ResourceContract> = z.output<C["listInput"]>;
export type InfiniteParamsOf<C extends ResourceContract> = z.output<C["infiniteInput"]>;
export type UpdateDataOf<C extends ResourceContract> = z.output<C["updateInput"]>["data"];

/** The snake_case column of a camelCase field: `createdById` -> `created_by_id`. */
export function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
