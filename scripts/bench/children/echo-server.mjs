// Benchmark target: a TCP echo server in its own process (so its memory is not counted as the tunnel's).
// argv: port. Prints "listening <port>"; exits when stdin closes (the benchmark ended or died).
import * as net from "node:net"

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  socket.on("error", () => socket.destroy())
  socket.pipe(socket)
})
server.maxConnections = 100_000
server.listen({ host: "127.0.0.1", port: Number(process.argv[2] ?? 0), backlog: 4096 }, () => {
  console.log(`listening ${server.address().port}`)
})
process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume()
