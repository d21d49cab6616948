/**
 * A man in the middle for in-memory exchanges: relays one direction of a conversation from one `Conn`
 * to another, editing the byte stream on the way (bits flipped, bytes set, dropped or inserted at given
 * stream offsets, the stream cut short) and re-chunking it. The fuzz suites put one in each direction of
 * a handshake, so both sides answer each other live while their messages are mangled.
 */
import * as fc from "fast-check"
import type { Conn } from "../../src/net/Conn.ts"
import { type Split, split } from "./Fuzz.ts"

/** One edit at a byte offset of the stream (offsets past its end never apply). */
export type StreamEdit =
  | { readonly at: number; readonly op: "flip"; readonly bit: number }
  | { readonly at: number; readonly op: "set"; readonly byte: number }
  | { readonly at: number; readonly op: "drop" }
  | { readonly at: number; readonly op: "insert"; readonly bytes: Uint8Array }
  /** the relay ends its output at this offset (the peer sees a FIN) */
  | { readonly at: number; readonly op: "cut" }

export const arbStreamEdit = (maxAt: number): fc.Arbitrary<StreamEdit> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ at: fc.nat(maxAt), op: fc.constant("flip" as const), bit: fc.nat(7) }) },
    { weight: 3, arbitrary: fc.record({ at: fc.nat(maxAt), op: fc.constant("set" as const), byte: fc.nat(255) }) },
    { weight: 2, arbitrary: fc.record({ at: fc.nat(maxAt), op: fc.constant("drop" as const) }) },
    {
      weight: 2,
      arbitrary: fc.record({ at: fc.nat(maxAt), op: fc.constant("insert" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) })
    },
    { weight: 1, arbitrary: fc.record({ at: fc.nat(maxAt), op: fc.constant("cut" as const) }) }
  )

/** What went through one direction: the bytes sent into the relay and the bytes it delivered. */
export interface Relayed {
  readonly sent: Array<number>
  readonly delivered: Array<number>
  /** an edit changed what was delivered (a flip or set to the same value changes nothing) */
  changed: boolean
  cut: boolean
}

/**
 * Relays everything `from` reads to `to`, with `edits` applied and each piece re-cut by `how`; the end of
 * `from`'s input ends `to`. Returns what went through, filled in as it goes.
 */
export const relay = (from: Conn, to: Conn, edits: ReadonlyArray<StreamEdit>, how: Split): Relayed => {
  const record: Relayed = { sent: [], delivered: [], changed: false, cut: false }
  const byOffset = new Map<number, Array<StreamEdit>>()
  for (const e of edits) byOffset.set(e.at, [...(byOffset.get(e.at) ?? []), e])
  from.forward({
    write: (chunk: Uint8Array) => {
      const wasCut = record.cut
      const out: Array<number> = []
      for (const byte of chunk) {
        const at = record.sent.length
        record.sent.push(byte)
        if (record.cut) continue // what the sender sent on is still recorded, but goes nowhere
        let value: number | undefined = byte
        for (const e of byOffset.get(at) ?? []) {
          if (e.op === "cut") {
            record.cut = true
            break
          }
          if (e.op === "insert") {
            out.push(...e.bytes)
            record.changed = true
          } else if (value !== undefined) {
            const next: number | undefined = e.op === "flip" ? value ^ (1 << e.bit) : e.op === "set" ? e.byte : undefined
            if (next !== value) record.changed = true
            value = next
          }
        }
        if (!record.cut && value !== undefined) out.push(value)
      }
      record.delivered.push(...out)
      for (const piece of split(Uint8Array.from(out), how)) to.write(piece)
      if (record.cut && !wasCut) to.end()
      return true
    },
    end: () => {
      if (!record.cut) to.end()
    },
    whenDrained: () => {}
  })
  return record
}

/** Whether `a` and `b` differ at a position below `upTo` other than those in `ignore` (or in length there). */
export const differs = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, upTo: number, ignore: ReadonlySet<number> = new Set()): boolean => {
  for (let i = 0; i < upTo; i++) {
    if (ignore.has(i)) continue
    if (a[i] !== b[i]) return true
  }
  return false
}
