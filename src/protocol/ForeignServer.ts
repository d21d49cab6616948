/**
 * What a peer that answered the client's hello with something other than a backhaul ServerHello looks
 * like, in words an operator can act on: `remote_addr` pointing at a web server, a TLS port (the server
 * runs wss), an SSH daemon. Judged from the first few bytes, since such a peer often closes long before
 * the 40 bytes of a hello (an HTTP 400 is 28).
 */

/** Bytes enough to tell the cases apart (`HTTP/`). */
export const SNIFF_BYTES = 5

/** The detail of a `NotBackhaul` error for a server whose reply began with `head` (1 to SNIFF_BYTES bytes). */
export const describe = (head: Buffer): string => {
  const text = head.toString("latin1")
  // TLS records open with their content type (21 alert, 22 handshake) and major version 3; a TLS server
  // answers our plain-text hello with an alert
  if ((head[0] === 0x15 || head[0] === 0x16) && (head.length < 2 || head[1] === 0x03)) {
    return "not a backhaul server (looks like TLS: is the server's transport wss?)"
  }
  if ("HTTP/".startsWith(text) || text.startsWith("HTTP/")) {
    return "not a backhaul server (looks like HTTP: a web server or proxy; is the server's transport ws?)"
  }
  if ("SSH-".startsWith(text) || text.startsWith("SSH-")) return "not a backhaul server (looks like SSH)"
  return `not a backhaul server (it sent ${JSON.stringify(text.replace(/[^\x20-\x7e]/g, "."))})`
}
