/**
 * Self-signed certificates for TLS tests, made with the `openssl` line the README documents: a CA-less
 * pair for `localhost` and 127.0.0.1, in a temp dir removed with the scope.
 */
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface CertPair {
  readonly dir: string
  /** certificate (PEM), also the CA to trust it with */
  readonly cert: string
  /** private key (PEM) */
  readonly key: string
}

/** Makes a pair synchronously (for `beforeAll`); `name` is the CN and a DNS SAN. */
export const makeSync = (name = "localhost"): CertPair => {
  const dir = mkdtempSync(join(tmpdir(), "backhaul-cert-"))
  const cert = join(dir, "cert.pem")
  const key = join(dir, "key.pem")
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
    "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name},IP:127.0.0.1`,
    "-keyout", key, "-out", cert
  ], { stdio: "ignore" })
  return { dir, cert, key }
}

/** A pair for the life of the scope. */
export const make = (name = "localhost") =>
  Effect.acquireRelease(Effect.sync(() => makeSync(name)), (pair) =>
    Effect.sync(() => rmSync(pair.dir, { recursive: true, force: true })))
