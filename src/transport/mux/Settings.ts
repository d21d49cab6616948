/**
 * The multiplexer's tunables, from the Go tool's keys (README, "tcpmux"): `mux_framesize` is the largest
 * Data payload (the server's value is the one both sides use, announced in its Welcome);
 * `mux_streambuffer` the window a stream's receiver may grow to; `mux_recievebuffer` the bound on
 * everything all streams of one session may have in flight towards a side. A stream starts at the
 * protocol's 256 KiB window whatever these say, and a stream never grows past half the session bound, so
 * one stalled reader cannot hold the whole session.
 */
import type { CommonConfig } from "../../config/Config.ts"
import * as Frame from "./Frame.ts"

/** Settings of the multiplexer on one side. */
export interface MuxSettings {
  readonly maxFrame: number
  readonly streamWindow: number
  readonly sessionWindow: number
}

/** The settings a config asks for, with the floors above applied. */
export const fromConfig = (config: CommonConfig): MuxSettings => {
  const sessionWindow = Math.max(config.mux_recievebuffer, 2 * Frame.INITIAL_WINDOW)
  return {
    maxFrame: config.mux_framesize,
    sessionWindow,
    streamWindow: Math.max(Frame.INITIAL_WINDOW, Math.min(config.mux_streambuffer, Math.floor(sessionWindow / 2)))
  }
}
