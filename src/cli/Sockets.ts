/**
 * The network the binary runs on: real sockets, with the backend an operator may force with
 * `BACKHAUL_SOCKETS=node` (Bun's native sockets otherwise, under Bun). Read here, by the program that
 * owns the process, never by the library: an embedding program passes `Tcp.layer({ backend })` itself.
 */
import * as Tcp from "../net/Tcp.ts"

const forced = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.BACKHAUL_SOCKETS

/** Real sockets, with the operator's choice of backend. */
export const network = Tcp.layer({ backend: forced === "node" ? "node" : "auto" })
