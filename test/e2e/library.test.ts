/**
 * Another program embedding backhaul: only the public surface (src/index.ts), its own layers, no files.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Either from "effect/Either"
import { Client, Load, PortMapping, Server, TcpTransport, Tunnel } from "../../src/index.ts"
import * as EchoServer from "../../src/net/EchoServer.ts"
import { freePort } from "../../src/net/FreePort.ts"
import { roundTrip } from "../helpers/Sockets.ts"

describe("library surface", () => {
  it.scopedLive("a program runs server and client layers in-process with an explicit transport layer", () =>
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
      const transport = TcpTransport.layer({ nodelay: true, keepaliveSeconds: 20, dialTimeoutSeconds: 5 })
      const app = Layer.merge(Server.layer(serverConfig), Client.layer(clientConfig)).pipe(Layer.provide(transport))
      const ctx = yield* Layer.build(app)
      yield* Effect.provide(Tunnel.awaitConnected, ctx)
      const back = yield* roundTrip(userPort, Buffer.from("in-process"))
      assert.strictEqual(back.toString(), "in-process")
      const server = yield* Effect.provide(Server.Server, ctx)
      assert.strictEqual(server.tunnelAddress.port, tunnelPort)
      assert.strictEqual(server.stats.sessions, 1)
    }))
})
