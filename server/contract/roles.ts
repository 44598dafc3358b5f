/**
 * The roles of a caller inside its organization, lowest first: each may do what the ones before it may.
 * Imports nothing but zod (the typed client computes its published types from the contract).
 */
import { z } from "zod";

/** The ladder, lowest first: `viewer < member < admin < owner`. */
export const ROLES = ["viewer", "member", "admin", "owner"] as const;

/** A role of the ladder. */
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;
