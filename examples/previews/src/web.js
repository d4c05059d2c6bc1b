// The web front end: a page, and /healthz for the preview's health gate.
const http = require("node:http");

const api = process.env.API_URL || "http://localhost:3000";
http
  .createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ status: "ok", commit: process.env.GIT_SHA || "dev" }));
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<h1>acme</h1><p>API: <a href="${api}">${api}</a></p>`);
  })
  .listen(Number(process.env.PORT || 8080));
