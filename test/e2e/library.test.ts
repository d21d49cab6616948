/**
 * Another program embedding backhaul: only the public surface (src/index.ts), its own layers, no files.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Either from "effect/Either"
import { Client, Load, Mux, Pooled, PortMapping, Server, TcpCarrier, TrustedProxies, Tunnel, WsCarrier } from "../../src/index.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import { roundTrip } from "../helpers/Sockets.ts"

const carrier = TcpCarrier.layer({ keepaliveSeconds: 20, dialTimeoutSeconds: 5 })
const ws = WsCarrier.layer({
  name: "ws",
  path: "/embedded",
  pingSeconds: 25,
  keepaliveSeconds: 20,
  dialTimeoutSeconds: 5,
  trusted: TrustedProxies.make([])
})
const transports = {
  "pooled channels over the tcp carrier": Pooled.layer("tcp").pipe(Layer.provide(carrier)),
  "the multiplexer over the tcp carrier": Mux.layer("tcpmux", { maxFrame: 32768, streamWindow: 1 << 20, sessionWindow: 4 << 20 })
    .pipe(Layer.provide(carrier)),
  "the multiplexer over the WebSocket carrier": Mux.layer("wsmux", { maxFrame: 32768, streamWindow: 1 << 20, sessionWindow: 4 << 20 })
    .pipe(Layer.provide(ws))
}

describe("library surface", () => {
  for (const [what, transport] of Object.entries(transports)) {
  it.scopedLive(`a program runs server and client layers in-process with its own transport layer: ${what}`, () =>
    Effect.gen(function*() {
      const echo = yield* EchoServer.make()
      const tunnelPort = yield* freePort()
      const userPort = yield* freePort()
      const mapping = PortMapping.parsePortMapping(`127.0.0.1:${userPort}=127.0.0.1:${echo.port}`)
      assert.isTrue(Either.isRight(mapping))
      if (Either.isLeft(mapping)) return
      const token = Redacted.make("embedded")
      const serverConfig = Load.makeServerConfig({ bind_addr: { host: "127.0.0.1", port: tunnelPort }, ports: [mapping.right], token })
      const clientConfig = Load.makeClientConfig({ remote_addr: { host: "127.0.0.1", port: tunnelPort }, token })
      const app = Layer.merge(Server.layer(serverConfig), Client.layer(clientConfig)).pipe(Layer.provide(transport))
      const ctx = yield* Layer.build(app)
      yield* Effect.provide(Tunnel.awaitConnected, ctx)
      const back = yield* roundTrip(userPort, Buffer.from("in-process"))
      assert.strictEqual(back.toString(), "in-process")
      const server = yield* Effect.provide(Server.Server, ctx)
      assert.strictEqual(server.tunnelAddress.port, tunnelPort)
      assert.strictEqual(server.stats.sessions, 1)
    }))
  }
})
