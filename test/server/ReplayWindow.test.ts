/**
 * The replay window of data-channel counters: every counter admitted once, out-of-order arrivals within
 * the window admitted, anything older refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as ReplayWindow from "../../src/server/ReplayWindow.ts"

describe("ReplayWindow", () => {
  it("admits each counter once, in any order within the window", () => {
    const w = ReplayWindow.make(64)
    for (const n of [3, 1, 2, 10, 5]) assert.isTrue(w.admit(n), `first ${n}`)
    for (const n of [3, 1, 2, 10, 5]) assert.isFalse(w.admit(n), `again ${n}`)
    assert.isTrue(w.admit(4))
  })

  it("refuses counters that fell out of the window, zero and non-integers", () => {
    const w = ReplayWindow.make(64)
    assert.isTrue(w.admit(100))
    assert.isFalse(w.admit(36))
    assert.isTrue(w.admit(37))
    assert.isFalse(w.admit(0))
    assert.isFalse(w.admit(-1))
    assert.isFalse(w.admit(1.5))
    assert.isTrue(w.admit(100 + 10_000)) // a jump past the whole window clears it
    assert.isFalse(w.admit(100 + 10_000))
  })

  it("agrees with a set of everything seen, for counters within the window", () =>
    FastCheck.assert(
      FastCheck.property(FastCheck.array(FastCheck.integer({ min: 1, max: 200 }), { maxLength: 300 }), (xs) => {
        const w = ReplayWindow.make(256)
        const seen = new Set<number>()
        for (const n of xs) {
          assert.strictEqual(w.admit(n), !seen.has(n))
          seen.add(n)
        }
      })
    ))
})
