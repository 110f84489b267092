// Apollo Client's normalized cache against the inventory API: read a product's stock (cache-first), ship
// some of it, then read the same query again from the cache alone (`cache-only`, no request). The product's
// cached stock shows the shipment only if the levels carry their `id`, which lets the cache store each level
// once and update it from the mutation's payload.
//
//   node cache.mjs <graphql url> <token> <product id> <warehouse id> <quantity> with-ids|without-ids
//
// Prints one line of JSON: the quantity the cache holds for the level after the shipment, the quantity the
// mutation returned, the operations sent over HTTP (in order), and whether the cache keeps the level as an
// entity of its own under its ID.

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [url, token, productId, warehouseId, quantity, mode] = process.argv.slice(2);
const withIds = mode === "with-ids";
if (!withIds && mode !== "without-ids") {
  console.error("the last argument must be with-ids or without-ids");
  process.exit(2);
}
const levelId = withIds ? "id" : "";

const sent = [];
async function countingFetch(input, init) {
  sent.push(JSON.parse(init.body).operationName);
  return fetch(input, init);
}

const client = new ApolloClient({
  link: new HttpLink({ uri: url, fetch: countingFetch, headers: { authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache(),
});

const STOCK = gql`
  query ProductStock($id: ID!) {
    product(id: $id) { id sku stock { ${levelId} quantityOnHand warehouse { id } } }
  }
`;
const SHIP = gql`
  mutation Ship($input: ShipStockInput!) {
    shipStock(input: $input) { stockLevels { ${levelId} quantityOnHand } errors { code message } }
  }
`;

function inWarehouse(result) {
  const level = result.data.product.stock.find((l) => l.warehouse.id === warehouseId);
  return level ? level.quantityOnHand : null;
}

const before = await client.query({ query: STOCK, variables: { id: productId }, fetchPolicy: "cache-first" });
const shipped = await client.mutate({
  mutation: SHIP,
  variables: { input: { productId, warehouseId, quantity: Number(quantity) } },
});
const payload = shipped.data.shipStock;
if (payload.errors.length) {
  console.error(JSON.stringify(payload.errors));
  process.exit(1);
}
const after = await client.query({ query: STOCK, variables: { id: productId }, fetchPolicy: "cache-only" });

const cached = client.cache.extract();
const shippedLevel = payload.stockLevels[0];
const levelKey = withIds ? client.cache.identify({ __typename: "StockLevel", id: shippedLevel.id }) : undefined;
console.log(
  JSON.stringify({
    before: inWarehouse(before),
    cachedAfter: inWarehouse(after),
    returned: shippedLevel.quantityOnHand,
    operations: sent,
    levelNormalized: levelKey !== undefined && levelKey in cached,
  }),
);
