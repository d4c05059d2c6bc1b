// The API: one resource, and /healthz.
const http = require("node:http");

http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    if (req.url === "/healthz") return res.end(JSON.stringify({ status: "ok" }));
    res.end(JSON.stringify({ items: [] }));
  })
  .listen(Number(process.env.PORT || 3000));
