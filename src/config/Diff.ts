/**
 * Which keys differ between two configs of one role, for a reload to decide what it must restart.
 * Values are compared by content: a token by its secret, a forwarder map by its entries, lists and
 * tables by their JSON.
 */
import * as Redacted from "effect/Redacted"
import type { AnyConfig } from "./Config.ts"

const comparable = (value: unknown): unknown => {
  if (Redacted.isRedacted(value)) return { redacted: Redacted.value(value) }
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [k, comparable(v)])
  return value
}

/** The keys whose values differ between `a` and `b`, in `b`'s key order. */
export const changedKeys = <C extends AnyConfig>(a: C, b: C): Array<keyof C & string> => {
  const keys = new Set<string>([...Object.keys(a), ...Object.keys(b)])
  const out: Array<keyof C & string> = []
  for (const key of keys) {
    const x = JSON.stringify(comparable((a as unknown as Record<string, unknown>)[key]))
    const y = JSON.stringify(comparable((b as unknown as Record<string, unknown>)[key]))
    if (x !== y) out.push(key as keyof C & string)
  }
  return out
}
