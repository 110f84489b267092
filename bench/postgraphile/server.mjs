// Starts PostGraphile (graphile.config.mjs) on the benchmark database, in one process or in a
// cluster of worker processes sharing the port.
//
//   node server.mjs --database-url postgresql://... [--port 5678] [--host 127.0.0.1]
//                   [--workers 1] [--pool-max 20] [--skip-functions]
//
// Before serving it applies functions.sql (idempotent) unless --skip-functions is given. It logs
// "listening on http://HOST:PORT/graphql" once every worker is ready to serve.
import cluster from "node:cluster";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

import pg from "pg";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";

const { values: args } = parseArgs({
  options: {
    "database-url": { type: "string", default: process.env.DATABASE_URL },
    port: { type: "string", default: process.env.PORT ?? "5678" },
    host: { type: "string", default: process.env.HOST ?? "127.0.0.1" },
    workers: { type: "string", default: process.env.WORKERS ?? "1" },
    "pool-max": { type: "string", default: process.env.POOL_MAX ?? "20" },
    "skip-functions": { type: "boolean", default: false },
  },
});
if (!args["database-url"]) {
  console.error("server.mjs: --database-url (or DATABASE_URL) is required");
  process.exit(2);
}
// graphile.config.mjs reads its settings from the environment.
Object.assign(process.env, {
  DATABASE_URL: args["database-url"],
  PORT: args.port,
  HOST: args.host,
  POOL_MAX: args["pool-max"],
});
const workers = Math.max(1, Number(args.workers));

async function applyFunctions() {
  const client = new pg.Client({ connectionString: args["database-url"] });
  await client.connect();
  try {
    await client.query(await readFile(new URL("./functions.sql", import.meta.url), "utf8"));
  } finally {
    await client.end();
  }
}

async function serve() {
  const { default: preset } = await import("./graphile.config.mjs");
  const pgl = postgraphile(preset);
  const serv = pgl.createServ(grafserv);
  const server = createServer();
  await serv.addTo(server);
  // Build the schema now rather than on the first request.
  await pgl.getSchema();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(args.port), args.host, resolve);
  });
  const shutdown = () => {
    server.close();
    server.closeAllConnections();
    pgl.release().finally(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return server;
}

const url = `http://${args.host}:${args.port}/graphql`;

if (workers === 1) {
  if (!args["skip-functions"]) await applyFunctions();
  await serve();
  console.log(`listening on ${url} (1 process)`);
} else if (cluster.isPrimary) {
  if (!args["skip-functions"]) await applyFunctions();
  let ready = 0;
  let stopping = false;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("message", (_worker, message) => {
    if (message === "ready" && ++ready === workers) {
      console.log(`listening on ${url} (${workers} worker processes)`);
    }
  });
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      console.error(`worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
      stop(1);
    }
  });
  const stop = (code = 0) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers)) worker.process.kill("SIGTERM");
    const deadline = setTimeout(() => process.exit(code), 5000);
    deadline.unref();
    cluster.disconnect(() => process.exit(code));
  };
  process.once("SIGTERM", () => stop(0));
  process.once("SIGINT", () => stop(0));
} else {
  await serve();
  process.send("ready");
}
