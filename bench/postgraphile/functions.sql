-- Functions PostGraphile needs to express the benchmark operations that its generated schema
-- cannot: the low-stock report, the quantities it shows and subtree product counts. They live in
-- their own schema, postgraphile_bench, and change nothing in `public` (the inventory API never
-- reads them). server.mjs applies this file before serving; by hand (it is idempotent):
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f bench/postgraphile/functions.sql

create schema if not exists postgraphile_bench;

-- Product.quantityOnHand: units on hand over all warehouses (the API's Product.quantityOnHand).
create or replace function postgraphile_bench.products_quantity_on_hand(p public.products)
returns integer
language sql stable parallel safe
as $$
  select coalesce(sum(s.quantity), 0)::integer from public.stock_levels s where s.product_id = p.id
$$;

-- Product.quantityToOrder: max(reorderQuantity, reorderPoint - quantityOnHand + 1), as the API's
-- LowStockItem.quantityToOrder.
create or replace function postgraphile_bench.products_quantity_to_order(p public.products)
returns integer
language sql stable parallel safe
as $$
  select greatest(
    p.reorder_quantity,
    p.reorder_point - (select coalesce(sum(s.quantity), 0)::integer
                       from public.stock_levels s where s.product_id = p.id) + 1
  )
$$;

-- Product.preferredSupplier: the preferred supplier's terms, or null (the API's
-- LowStockItem.preferredSupplier).
create or replace function postgraphile_bench.products_preferred_supplier(p public.products)
returns public.product_suppliers
language sql stable parallel safe
as $$
  select ps.* from public.product_suppliers ps where ps.product_id = p.id and ps.is_preferred
$$;

-- Query.lowStockProducts: active products with a reorder point whose stock over all warehouses is
-- at or below it, by name then id (the API's Query.lowStock without a warehouse).
create or replace function postgraphile_bench.low_stock_products()
returns setof public.products
language sql stable parallel safe
as $$
  select p.*
  from public.products p
  where p.is_active
    and p.reorder_point > 0
    and (select coalesce(sum(s.quantity), 0) from public.stock_levels s where s.product_id = p.id)
        <= p.reorder_point
  order by p.name, p.id
$$;

-- Category.productCount(includeDescendants): the products in the category, and with
-- includeDescendants in its whole subtree, whatever their status (the API's Category.productCount).
-- `= any(array(...))` lets each subtree category be counted from the category_id index; the
-- plainer `in (subquery)` form scans every product once per call, about ten times slower.
create or replace function postgraphile_bench.categories_product_count(
  c public.categories, include_descendants boolean default false
)
returns integer
language sql stable parallel safe
as $$
  select count(*)::integer
  from public.products p
  where p.category_id = any(array(
    with recursive subtree(id) as (
      select c.id
      union all
      select k.id from public.categories k join subtree s on k.parent_id = s.id where include_descendants
    )
    select id from subtree
  ))
$$;
