import { assert, describe, it } from "@effect/vitest"
import * as AuthLimiter from "../../src/server/AuthLimiter.ts"

describe("AuthLimiter", () => {
  it("locks an address out at its Nth failure, says so once, and for how long", () => {
    const limiter = AuthLimiter.make({ maxFailures: 3, windowMillis: 60_000 })
    const t = 1_000_000
    assert.isFalse(limiter.fail("10.0.0.1", t))
    assert.isFalse(limiter.fail("10.0.0.1", t + 1_000))
    assert.strictEqual(limiter.lockedFor("10.0.0.1", t + 1_000), 0)
    assert.isTrue(limiter.fail("10.0.0.1", t + 17_000))
    assert.isFalse(limiter.fail("10.0.0.1", t + 18_000), "only the failure that locks it out says so")
    assert.isTrue(limiter.blocked("10.0.0.1", t + 18_000))
    // the lockout lasts until the window that began with the first failure ends
    assert.strictEqual(limiter.lockedFor("10.0.0.1", t + 17_000), 43_000)
    assert.isFalse(limiter.blocked("10.0.0.2", t + 18_000), "another address is not affected")
    assert.strictEqual(limiter.lockedFor("10.0.0.1", t + 60_001), 0)
    assert.isFalse(limiter.blocked("10.0.0.1", t + 60_001))
  })
})
