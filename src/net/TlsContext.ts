/**
 * TLS client contexts for `node:tls`, made once per options object and reused for every connection: building
 * one parses every trusted CA, far too slow to repeat per connection. Without `tls_ca` the client trusts
 * the runtime's bundled roots plus the system's store (`SSL_CERT_FILE`, or Debian's and Red Hat's
 * bundle paths), so a CA the administrator installed is trusted as curl would trust it.
 */
import { readFileSync } from "node:fs"
import * as tls from "node:tls"
import type { TlsClientOptions } from "./Conn.ts"

const systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

let systemCas: Array<string | Buffer> | undefined

/** The bundled roots and the first readable system bundle. */
const defaultCas = (): Array<string | Buffer> => {
  if (systemCas !== undefined) return systemCas
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const files = env?.SSL_CERT_FILE === undefined ? systemBundles : [env.SSL_CERT_FILE, ...systemBundles]
  const extra: Array<Buffer> = []
  for (const file of files) {
    try {
      extra.push(readFileSync(file))
      break
    } catch {
      // not on this system: try the next
    }
  }
  systemCas = [...tls.rootCertificates, ...extra]
  return systemCas
}

const clientContexts = new WeakMap<TlsClientOptions, tls.SecureContext>()
export const client = (options: TlsClientOptions): tls.SecureContext => {
  let context = clientContexts.get(options)
  if (context === undefined) {
    context = tls.createSecureContext({ ca: options.ca ?? defaultCas() })
    clientContexts.set(options, context)
  }
  return context
}
