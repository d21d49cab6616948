#!/usr/bin/env node
// Prints vitest's result (from the JSON reporter configured in vitest.config.ts) as one plain line:
// "N passed, N failed, N skipped". Exits 1 if the report is missing or counts a failure.
import { readFileSync } from "node:fs"

const report = JSON.parse(readFileSync(new URL("../test-results/vitest.json", import.meta.url), "utf8"))
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`)
process.exit(report.numFailedTests === 0 && report.numPassedTests > 0 ? 0 : 1)
