import * as v from "valibot";
import { strictJsonObject } from "./envelope.ts";

export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 31_536_000;
export const DEFAULT_TTL_SECONDS = 604_800;

/** A TTL in seconds within the policy bounds, or null for "never expires". */
export const TtlSecondsSchema = v.nullable(
  v.pipe(
    v.number("must be an integer number of seconds or null"),
    v.integer("must be an integer number of seconds or null"),
    v.minValue(MIN_TTL_SECONDS, `must be at least ${MIN_TTL_SECONDS}`),
    v.maxValue(MAX_TTL_SECONDS, `must be at most ${MAX_TTL_SECONDS}`),
  ),
);

/** A TTL policy body: `{ "ttlSeconds": N | null }`. */
export const TtlPolicySchema = strictJsonObject({ ttlSeconds: TtlSecondsSchema });

export type TtlPolicy = v.InferOutput<typeof TtlPolicySchema>;

export type TtlSource = "flow" | "account" | "default";

/** The effective TTL for an (account, flow) pair and where it came from. */
export interface EffectiveTtl {
  ttlSeconds: number | null;
  source: TtlSource;
}
