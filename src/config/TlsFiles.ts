/**
 * The TLS files a config names (`tls_cert`, `tls_key` on the server; `tls_ca` on the client), read and
 * checked the same way for `backhaul check`, for start-up and for programs that build configs in code:
 * the file exists, its PEM parses, the key belongs to the certificate. Each problem names its key.
 */
import * as Either from "effect/Either"
import { createPrivateKey, X509Certificate } from "node:crypto"
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import type { AnyConfig, ClientConfig, ServerConfig, TransportName } from "./Config.ts"

/** One problem with a TLS key of the config. */
export interface Problem {
  readonly key: string
  readonly message: string
}

/** Transports that run TLS under the WebSocket. */
export const secure = (transport: TransportName): boolean => transport === "wss" || transport === "wssmux"

const read = (key: string, path: string): Either.Either<Buffer, Problem> => {
  try {
    return Either.right(readFileSync(path))
  } catch (e) {
    const code = (e as { code?: string }).code
    const why = code === "ENOENT" ? "file not found" : code === "EACCES" ? "permission denied" : String(e)
    return Either.left({ key, message: `cannot read ${resolve(path)}: ${why}` })
  }
}

const certificate = (key: string, path: string): Either.Either<readonly [Buffer, X509Certificate], Problem> =>
  Either.flatMap(read(key, path), (pem) => {
    try {
      return Either.right([pem, new X509Certificate(pem)] as const)
    } catch {
      return Either.left({ key, message: `${resolve(path)} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")` })
    }
  })

/** The server's certificate chain and key (PEM), or what is wrong with them. */
export const server = (config: ServerConfig): Either.Either<{ cert: Buffer; key: Buffer }, ReadonlyArray<Problem>> => {
  const how = `required for transport "${config.transport}": a PEM file (see the README for a self-signed pair)`
  const cert = config.tls_cert === undefined
    ? Either.left({ key: "tls_cert", message: how })
    : certificate("tls_cert", config.tls_cert)
  const key = config.tls_key === undefined
    ? Either.left({ key: "tls_key", message: how })
    : Either.flatMap(read("tls_key", config.tls_key), (pem) => {
      try {
        return Either.right([pem, createPrivateKey(pem)] as const)
      } catch {
        return Either.left({ key: "tls_key", message: `${resolve(config.tls_key!)} holds no PEM private key` })
      }
    })
  if (Either.isLeft(cert) || Either.isLeft(key)) {
    return Either.left([
      ...(Either.isLeft(cert) ? [cert.left] : []),
      ...(Either.isLeft(key) ? [key.left] : [])
    ])
  }
  const [certPem, x509] = cert.right
  const [keyPem, privateKey] = key.right
  let matches = true
  try {
    matches = x509.checkPrivateKey(privateKey)
  } catch {
    // a runtime without the check: the TLS context built at start-up still refuses a mismatch
  }
  return matches
    ? Either.right({ cert: certPem, key: keyPem })
    : Either.left([{ key: "tls_key", message: `the key in ${resolve(config.tls_key!)} does not belong to the certificate in tls_cert` }])
}

/** The client's CA file (PEM), undefined for the system's store, or what is wrong with it. */
export const client = (config: ClientConfig): Either.Either<Buffer | undefined, ReadonlyArray<Problem>> => {
  if (config.tls_ca === undefined) return Either.right(undefined)
  return Either.match(certificate("tls_ca", config.tls_ca), {
    onLeft: (p) => Either.left([p]),
    onRight: ([pem]) => Either.right(pem)
  })
}

/** Every TLS problem of a config (none for transports without TLS). */
export const problems = (config: AnyConfig): ReadonlyArray<Problem> => {
  if (!secure(config.transport)) return []
  const result = config.role === "server" ? Either.map(server(config), () => undefined) : client(config)
  return Either.isLeft(result) ? result.left : []
}
