// PostGraphile v5 serving the benchmark database as a production server would: the amber preset
// (default connections), no GraphiQL, no explain, no schema watching, no websockets.
//
// Settings come from the environment (server.mjs sets them from its arguments):
//   DATABASE_URL  postgresql:// URL of the database (required)
//   PORT, HOST    where to listen (default 5678 on 127.0.0.1)
//   POOL_MAX      connections per process (default 20, the API's pool size)
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { addPgTableOrderBy, orderByAscDesc, pgSmartTags } from "postgraphile/utils";

// Tags set here rather than by COMMENT ON, so that `public` stays as the API's migrations left it.
const BenchTagsPlugin = pgSmartTags([
  // The API lists a product's suppliers preferred first (ORDER BY is_preferred DESC, id). The
  // column has no index of its own, so PostGraphile would not offer to order by it.
  { kind: "attribute", match: "public.product_suppliers.is_preferred", tags: { behavior: "+orderBy" } },
  // Not part of the benchmark, and not for an API to show (password hashes, token hashes).
  ...["users", "api_tokens", "idempotency_keys", "alembic_version"].map((table) => ({
    kind: "class",
    match: `public.${table}`,
    tags: { behavior: "-*" },
  })),
  // Query.lowStockProducts rather than Query.postgraphileBenchLowStockProducts.
  { kind: "procedure", match: "postgraphile_bench.low_stock_products", tags: { name: "low_stock_products" } },
]);

// StockLevelOrderBy.WAREHOUSE_NAME_ASC/DESC: the API lists a product's stock by warehouse name.
const StockByWarehouseNamePlugin = addPgTableOrderBy(
  { schemaName: "public", tableName: "stock_levels" },
  ({ sql, dataplanPg: { TYPES } }) => {
    const warehouse = sql.identifier(Symbol("warehouse"));
    return orderByAscDesc("WAREHOUSE_NAME", (queryBuilder) => ({
      fragment: sql`(select ${warehouse}.name from public.warehouses as ${warehouse} where ${warehouse}.id = ${queryBuilder.alias}.warehouse_id)`,
      codec: TYPES.varchar,
    }));
  },
);

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  plugins: [BenchTagsPlugin, StockByWarehouseNamePlugin],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      // `public` holds the inventory tables; postgraphile_bench the functions of functions.sql.
      schemas: ["public", "postgraphile_bench"],
      poolConfig: { max: Number(process.env.POOL_MAX ?? 20) },
    }),
  ],
  grafserv: {
    port: Number(process.env.PORT ?? 5678),
    host: process.env.HOST ?? "127.0.0.1",
    graphqlPath: "/graphql",
    graphiql: false,
    graphqlOverGET: false,
    watch: false,
    websockets: false,
    maxRequestLength: 262_144,
  },
  grafast: {
    explain: false,
  },
};

export default preset;
