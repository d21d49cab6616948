/**
 * Reading one HTTP/1.1 message head (request or status line plus headers, up to the blank line) off a
 * `Conn`, as the WebSocket upgrade needs on both sides. Bytes after the head stay in the connection,
 * first in line for whoever reads next. A head over `MAX_HEAD` bytes is refused, so a peer cannot make
 * the server buffer without bound.
 */
import type { Cancel, Done } from "../../net/Callback.ts"
import type { Conn, Resumable, Sink } from "../../net/Conn.ts"

/** The largest head accepted (nginx's default large_client_header_buffers is 4 × 8 KiB). */
export const MAX_HEAD = 16 * 1024

/** A parsed head: the first line's three parts and the headers, names in lower case. */
export interface Head {
  /** request: method; response: "HTTP/1.1" */
  readonly first: string
  /** request: target; response: status code */
  readonly second: string
  /** request: version; response: reason phrase */
  readonly third: string
  /** repeated headers joined with ", " (RFC 9110 §5.3) */
  readonly headers: ReadonlyMap<string, string>
}

/** Why no head could be read. */
export interface HeadError {
  readonly reason: "TooLarge" | "Malformed" | "Closed"
  readonly detail: string
}

const CRLFCRLF = Buffer.from("\r\n\r\n")

/** Parses head text (without the blank line); undefined when it is not HTTP. */
export const parse = (text: string): Head | undefined => {
  const lines = text.split("\r\n")
  const line = lines[0]!
  const a = line.indexOf(" ")
  const b = a < 0 ? -1 : line.indexOf(" ", a + 1)
  if (a <= 0) return undefined
  const first = line.slice(0, a)
  const second = b < 0 ? line.slice(a + 1) : line.slice(a + 1, b)
  const third = b < 0 ? "" : line.slice(b + 1)
  if (!/^[A-Z]+$/.test(first) && !first.startsWith("HTTP/")) return undefined
  const headers = new Map<string, string>()
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!
    const colon = l.indexOf(":")
    if (colon <= 0) return undefined
    const name = l.slice(0, colon).trim().toLowerCase()
    const value = l.slice(colon + 1).trim()
    const had = headers.get(name)
    headers.set(name, had === undefined ? value : `${had}, ${value}`)
  }
  return { first, second, third, headers }
}

/** The start of a request or status line (so binary garbage is refused at once, not at the deadline). */
const looksLikeHttp = (buf: Buffer): boolean =>
  /^(?:[A-Z]{0,8}|[A-Z]{1,7} [^]*|HTTP\/[^]*)$/.test(buf.toString("latin1", 0, Math.min(buf.length, 8)))

/** True when a comma-separated header value holds `token` (case-insensitive). */
export const hasToken = (value: string | undefined, token: string): boolean =>
  value !== undefined && value.split(",").some((t) => t.trim().toLowerCase() === token)

/**
 * Reads one head off `conn`. The bytes after it are put back into `conn` (`unforward`), so a WebSocket
 * frame sent right behind the head is not lost.
 */
export const read = (conn: Conn, done: Done<Head, HeadError>): Cancel => {
  /** everything read so far (heads are small: joined as they come) */
  let all: Buffer | undefined
  let finished = false
  const finish = (error: HeadError | undefined, head?: Head) => {
    if (finished) return
    finished = true
    conn.offClose(onClose)
    done(error, head)
  }
  const onClose = () => finish({ reason: "Closed", detail: "connection closed before the HTTP head ended" })
  const sink: Sink = {
    write: (chunk: Buffer) => {
      if (finished) return true
      // search from just before the new chunk, in case the blank line straddles two chunks
      const from = all === undefined ? 0 : Math.max(0, all.length - 3)
      all = all === undefined ? chunk : Buffer.concat([all, chunk])
      if (from === 0 && !looksLikeHttp(all)) {
        conn.unforward()
        finish({ reason: "Malformed", detail: "not HTTP" })
        return true
      }
      const at = all.indexOf(CRLFCRLF, from)
      if ((at < 0 ? all.length : at) > MAX_HEAD) {
        conn.unforward()
        finish({ reason: "TooLarge", detail: `HTTP head over ${MAX_HEAD} bytes` })
        return true
      }
      if (at < 0) return true
      conn.unforward(all.subarray(at + 4))
      conn.pause() // nothing reads until the next owner does
      const head = parse(all.toString("latin1", 0, at))
      if (head === undefined) finish({ reason: "Malformed", detail: "not an HTTP request" })
      else finish(undefined, head)
      return true
    },
    end: () => {
      conn.unforward()
      finish({ reason: "Closed", detail: "connection closed before the HTTP head ended" })
    },
    whenDrained: (_source: Resumable | undefined) => {}
  }
  conn.onClose(onClose)
  conn.forward(sink)
  return () => {
    finished = true
    conn.offClose(onClose)
    conn.unforward()
  }
}
