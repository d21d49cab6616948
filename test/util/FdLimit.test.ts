import { assert, describe, it } from "@effect/vitest"
import * as FdLimit from "../../src/util/FdLimit.ts"

const limits = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`

describe("FdLimit", () => {
  it("reads Max open files from /proc/PID/limits text", () => {
    assert.deepStrictEqual(FdLimit.parse(limits), { soft: 1024, hard: 524288 })
    assert.deepStrictEqual(FdLimit.parse("Max open files            unlimited            unlimited            files\n"), {
      soft: Infinity,
      hard: Infinity
    })
    assert.isUndefined(FdLimit.parse("Max cpu time              unlimited            unlimited            seconds\n"))
  })

  it("says how many descriptors are needed and what to raise, only when they do not fit", () => {
    const limit = { soft: 1024, hard: 1024 }
    assert.isUndefined(FdLimit.shortfall(100, limit, 30))
    const short = FdLimit.shortfall(2000, limit, 30)!
    assert.include(short, `need about ${2000 + 30 + FdLimit.MARGIN} file descriptors`)
    assert.include(short, "may open 1024")
    assert.include(short, "`ulimit -n 4096`")
    assert.include(short, "`LimitNOFILE=4096`")
  })

  it("this process's limit and open descriptors are read on Linux", () => {
    if (process.platform !== "linux") return
    const limit = FdLimit.read()
    assert.isDefined(limit)
    assert.isAbove(limit!.soft, 0)
    assert.isAbove(FdLimit.openNow()!, 2)
  })
})
