/**
 * TLS client contexts for `node:tls`. Building one parses every trusted CA, far too slow to repeat per
 * connection, so a carrier builds its context once (`TlsClientOptions.context`) and every dial reuses it;
 * nothing is cached at module level. Without `tls_ca` the client trusts the runtime's bundled roots plus
 * the system's store (`SSL_CERT_FILE`, or Debian's and Red Hat's bundle paths), so a CA the administrator
 * installed is trusted as curl would trust it.
 */
import { readFileSync } from "node:fs"
import * as tls from "node:tls"

const systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

/** The bundled roots and the first readable system bundle. */
const defaultCas = (): Array<string | Buffer> => {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
  const files = env?.SSL_CERT_FILE === undefined ? systemBundles : [env.SSL_CERT_FILE, ...systemBundles]
  for (const file of files) {
    try {
      return [...tls.rootCertificates, readFileSync(file)]
    } catch {
      // not on this system: try the next
    }
  }
  return [...tls.rootCertificates]
}

/** A context trusting `ca` (PEM), or the default roots when it is undefined. */
export const client = (ca: Buffer | undefined): tls.SecureContext => tls.createSecureContext({ ca: ca ?? defaultCas() })
