import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/consumer is a fixture project (scripts/package-check.mjs runs it from a copy), not a suite
    exclude: ["**/node_modules/**", "test/consumer/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e suites bind real loopback ports and spawn processes; keep the 2-core machine from thrashing
    maxWorkers: 2,
    // the JSON report feeds the plain "N passed, N failed" line that .ci/run prints last
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    minWorkers: 1
  }
})
