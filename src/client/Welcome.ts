/**
 * What a client accepts in a server's Welcome. The numbers steer the client (how often to expect
 * heartbeats, how many channels or sessions to keep, the mux frame size); a server that announces
 * numbers no config could produce is broken or hostile — a heartbeat of 0xFFFFFFFF ms would turn off
 * dead-server detection — so the session is refused with a line saying which number.
 */
import type { Welcome } from "../transport/Channels.ts"

/** The ranges the server's own config allows (src/config/Schema.ts), which a genuine Welcome stays in. */
export const limits = {
  heartbeatMs: { min: 1_000, max: 3_600_000 },
  poolSize: { min: 0, max: 1_024 },
  maxFrame: { min: 0, max: 16_777_216 }
} as const

/** Why `welcome` is refused, or undefined when its numbers are in range. */
export const check = (welcome: Welcome): string | undefined => {
  for (const key of ["heartbeatMs", "poolSize", "maxFrame"] as const) {
    const value = welcome[key]
    const { min, max } = limits[key]
    if (!(value >= min && value <= max)) {
      return `the server's Welcome announces ${key} ${value}, outside ${min}..${max}: not a backhaul server this client can trust`
    }
  }
  return undefined
}
