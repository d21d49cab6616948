/**
 * UNSTABLE: internals for programs that write their own carrier or drive the protocol by hand. These
 * change between any two versions, without notice and without a major version; nothing here is part of
 * the supported surface (`backhaul`'s root is).
 */
export * as Conn from "./net/Conn.ts"
export * as FramedPipe from "./tunnel/FramedPipe.ts"
export * as Handshake from "./protocol/Handshake.ts"
export * as MemoryConn from "./net/MemoryConn.ts"
export * as Protocol from "./protocol/Protocol.ts"
export * as Schedules from "./tunnel/Schedules.ts"
export * as Tcp from "./net/Tcp.ts"
