/**
 * A fake backhaul server for testing clients against hostile or broken servers: it listens with the
 * transport's real carrier (so WebSocket clients get a real upgrade and TLS clients a real certificate)
 * and plays each incoming control channel to a scenario — garbage at once, or a valid start (a proper
 * ServerHello, a proven verdict, a Welcome) followed by mutated bytes, then half-closes or goes silent.
 * Data channels and mux sessions the client opens get garbage too: Connects with forged MACs, mutated
 * Data frames, mutated mux frames. It never sends a genuine Connect, so no target may ever be dialed.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fc from "fast-check"
import * as Welcome from "../../src/client/Welcome.ts"
import type { ServerConfig } from "../../src/config/Config.ts"
import type { Conn } from "../../src/net/Conn.ts"
import * as Tcp from "../../src/net/Tcp.ts"
import * as Auth from "../../src/protocol/Auth.ts"
import * as Handshake from "../../src/protocol/Handshake.ts"
import * as P from "../../src/protocol/Protocol.ts"
import * as MuxFrame from "../../src/transport/mux/Frame.ts"
import { Transport } from "../../src/transport/Transport.ts"
import * as Transports from "../../src/transport/Transports.ts"
import { wireName } from "./BadPeers.ts"
import { arbInput } from "./Fuzz.ts"

/** How far a control channel gets before the garbage. */
export type Stage = "raw" | "serverHello" | "verdict" | "welcome" | "frames" | "data"

export interface Scenario {
  readonly stage: Stage
  /** what is sent at that point */
  readonly garbage: Buffer
  /** afterwards: stay silent (the client's own deadlines must end it) rather than half-close */
  readonly hold: boolean
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((u) => Buffer.from(u))

/** Scenarios for a transport (its handshake name) and strategy. */
export const arbScenario = (transport: string, mux: boolean): fc.Arbitrary<Scenario> => {
  const name = wireName(transport)
  const hello = bytes(32).map((n) => P.encodeServerHello(P.Status.Ok, name, n))
  const verdict = fc.tuple(bytes(32), bytes(16)).map(([mac, sessionId]) => P.encodeVerdict({ status: P.Status.Ok, mac, sessionId }))
  const welcome = fc.record({ heartbeatMs: fc.nat(5000), poolSize: fc.nat(8), maxFrame: fc.constantFrom(0, 65536) })
    .map((w) => P.encodeFrame({ _tag: "Welcome", ...w }))
  const frame = fc.oneof(
    fc.nat(0xffff).map((count) => P.encodeFrame({ _tag: "OpenData", count: count % 4 })),
    fc.double().map((sentAt) => P.encodeFrame({ _tag: "Ping", sentAt })),
    fc.string({ maxLength: 30 }).map((reason) => P.encodeFrame({ _tag: "Goodbye", reason })),
    fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 30 })).map(([type, p]) => Buffer.concat([Buffer.from([type, 0, 0, 0, p.length]), p]))
  )
  const forgedConnect = fc.tuple(bytes(32), fc.integer({ min: 1, max: 65535 })).map(([mac, port]) =>
    P.encodeFrame({ _tag: "Connect", port, target: "127.0.0.1:9", use: 1, mac })
  )
  const dataStream = mux
    ? fc.tuple(forgedConnect, fc.nat(3)).map(([connect, n]) => [
      // a stream opened with a forged Connect, window updates, pings, then garbage data
      Buffer.concat([MuxFrame.header(MuxFrame.Type.Data, MuxFrame.Flag.SYN, 2, connect.length), connect]),
      MuxFrame.header(MuxFrame.Type.WindowUpdate, 0, 0, 1000 * n),
      MuxFrame.header(MuxFrame.Type.Ping, MuxFrame.Flag.SYN, 0, n),
      Buffer.concat([MuxFrame.header(MuxFrame.Type.Data, 0, 2, 4), Buffer.from("junk")])
    ])
    : fc.tuple(forgedConnect, fc.uint8Array({ maxLength: 40 })).map(([connect, data]) => [connect, P.dataHeader(data.length), Buffer.from(data), P.endFrame])
  const stages: Record<Stage, fc.Arbitrary<ReadonlyArray<Uint8Array>>> = {
    raw: fc.tuple(hello, verdict).map((x) => x),
    serverHello: fc.tuple(hello, verdict).map((x) => x),
    verdict: verdict.map((v) => [v]),
    welcome: welcome.map((w) => [w]),
    frames: fc.array(frame, { minLength: 1, maxLength: 5 }),
    data: dataStream
  }
  return fc.constantFrom<Stage>("raw", "serverHello", "verdict", "welcome", "frames", "data").chain((stage) =>
    fc.record({ stage: fc.constant(stage), input: arbInput(stages[stage], 200), hold: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) })
      .map(({ hold, input, stage }) => ({ stage, garbage: input.bytes, hold }))
  )
}

/** A connection the client holds open. */
export interface Open {
  /** "session": a control channel whose Welcome the client could accept (in range): a session that
   * lasts until `deadAfterMillis` of silence, as the server's heartbeat says */
  readonly kind: "control" | "session" | "data" | "unknown"
  readonly what: string
  readonly millis: number
  readonly deadAfterMillis: number
}

/** A running fake server. */
export interface FakeServer {
  /** control channels played so far, by stage */
  readonly played: Record<Stage, number>
  /** data channels (or mux sessions) the clients opened to it */
  readonly dataChannels: () => number
  /** connections the clients have not ended or closed yet */
  readonly open: () => number
  /** what each of those is, and how long it has been open */
  readonly openOnes: () => Array<Open>
  /** from now on, new connections are closed at once (so the open ones can be watched draining) */
  readonly quiet: () => void
  /** back to playing scenarios */
  readonly loud: () => void
}

/** How a scenario ends: half-close, or stay silent. */
const finish = (conn: Conn, hold: boolean) => {
  if (!hold) conn.end()
}

/**
 * Starts a fake server on `config.bind_addr` (with `config`'s transport, certificate and ws_path) for the
 * life of the scope; control channel n plays `scenarios[n % scenarios.length]`.
 */
export const make = (
  config: ServerConfig,
  scenarios: ReadonlyArray<Scenario>,
  mux: boolean
): Effect.Effect<FakeServer, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const layer = Either.getOrThrow(Transports.layerFor(config))
    const transport = Context.get(yield* Layer.build(layer.pipe(Layer.provide(Tcp.layer()))), Transport)
    const name = transport.name
    const played: Record<Stage, number> = { raw: 0, serverHello: 0, verdict: 0, welcome: 0, frames: 0, data: 0 }
    const live = new Map<Conn, { kind: Open["kind"]; what: string; since: number; deadAfterMillis: number }>()
    let controls = 0
    let data = 0
    let quiet = false
    /** what each control channel's data channels get: its scenario's garbage */
    let dataGarbage: Buffer = Buffer.alloc(0)
    let dataStage = "a session that sent no garbage for them"
    const params: Handshake.ServerParams = {
      token: config.token,
      transport: name,
      admitData: () => "ok",
      admitControl: () => true
    }
    const welcome = P.encodeFrame({ _tag: "Welcome", heartbeatMs: 1000, poolSize: mux ? 1 : 2, maxFrame: mux ? 65536 : 0 })

    const onChannel = (conn: Conn) => {
      live.set(conn, { kind: "unknown", what: "connected", since: Date.now(), deadAfterMillis: 0 })
      conn.onClose(() => live.delete(conn))
      const label = (kind: Open["kind"], what: string, deadAfterMillis = 0) =>
        live.has(conn) && live.set(conn, { kind, what, since: live.get(conn)!.since, deadAfterMillis })
      if (quiet) return conn.destroy()
      // the first bytes tell a control channel from a data channel: a scenario is used up by a control channel
      const scenario = scenarios[controls % scenarios.length]!
      if (scenario.stage === "raw") {
        // garbage before the client has said anything: the scenario is used up by this connection
        controls++
        played.raw++
        label("unknown", "raw garbage")
        conn.write(scenario.garbage)
        return finish(conn, scenario.hold)
      }
      if (scenario.stage === "serverHello" || scenario.stage === "verdict") {
        // a fake that speaks first only after the client's hello (a data channel's hello is longer; its
        // remaining bytes are just never read)
        return void conn.read(P.HELLO_BYTES, (error, hello) => {
          if (error) return conn.destroy()
          if (hello![5] === 2) {
            // a data channel (of an earlier session): it gets that session's garbage, the scenario waits
            data++
            label("data", `data channel (${dataStage}), garbage`)
            return void conn.write(dataGarbage)
          }
          controls++
          played[scenario.stage]++
          label("control", `control ${scenario.stage}${scenario.hold ? " (held)" : ""}`)
          if (scenario.stage === "serverHello") {
            conn.write(scenario.garbage)
            return finish(conn, scenario.hold)
          }
          conn.write(P.encodeServerHello(P.Status.Ok, name, Auth.nonce()))
          conn.read(P.PROOF_BYTES, (e) => {
            if (e) return conn.destroy()
            conn.write(scenario.garbage)
            finish(conn, scenario.hold)
          })
        })
      }
      Handshake.serverCb(conn, params, (error, admitted) => {
        if (error) return conn.destroy()
        if (admitted!.kind === "data") {
          data++
          label("data", `data channel (${dataStage})`)
          conn.write(dataGarbage)
          return
        }
        controls++
        played[scenario.stage]++
        label("control", `control ${scenario.stage}${scenario.hold ? " (held)" : ""}`)
        if (scenario.stage === "welcome") {
          // a mutated Welcome may still be one the client accepts: a session, with the heartbeat it says
          const decoded = P.decodeFrame(scenario.garbage)
          if (Either.isRight(decoded) && decoded.right._tag === "Welcome" && Welcome.check(decoded.right) === undefined) {
            const hb = decoded.right.heartbeatMs
            label("session", `session (Welcome heartbeat ${hb} ms)${scenario.hold ? ", held silent" : ""}`, 3 * hb + Math.min(hb, 1000))
          }
          conn.write(scenario.garbage)
          return finish(conn, scenario.hold)
        }
        conn.write(welcome)
        if (scenario.stage === "frames") {
          conn.write(scenario.garbage)
          return finish(conn, scenario.hold)
        }
        // data: the client opens data channels (OpenData) or mux sessions (the Welcome), which get the garbage
        dataGarbage = scenario.garbage
        dataStage = scenario.hold ? "its control channel held silent" : "its control channel ended by the server"
        if (!mux) conn.write(P.encodeFrame({ _tag: "OpenData", count: 2 }))
        if (!scenario.hold) setTimeout(() => conn.end(), 1_500)
      })
    }
    /** the connections the client still holds open: one it has ended is closed here (it is done with it) */
    const sweep = () => {
      for (const conn of [...live.keys()]) if (conn.readEnded) conn.destroy()
      return [...live.entries()]
    }
    yield* transport.carrier.listen(config.bind_addr, onChannel)
    return {
      played,
      dataChannels: () => data,
      open: () => sweep().length,
      openOnes: () => sweep().map(([_, v]) => ({ kind: v.kind, what: v.what, millis: Date.now() - v.since, deadAfterMillis: v.deadAfterMillis })),
      quiet: () => {
        quiet = true
      },
      loud: () => {
        quiet = false
      }
    }
  })
