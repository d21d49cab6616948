// Benchmark target: the smallest useful HTTP server (a fixed 13-byte body), in its own process.
// argv: port. Prints "listening <port>"; exits when stdin closes.
import * as http from "node:http"

const body = Buffer.from("hello, world\n")
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length })
  res.end(body)
})
server.keepAliveTimeout = 30_000
server.listen({ host: "127.0.0.1", port: Number(process.argv[2] ?? 0), backlog: 4096 }, () => {
  console.log(`listening ${server.address().port}`)
})
process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume()
