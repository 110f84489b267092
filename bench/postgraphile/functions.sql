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

-- Product.quantityHeld: units open holds keep (db.selling_reads.held): not released, not expired.
create or replace function postgraphile_bench.products_quantity_held(p public.products)
returns integer
language sql stable parallel safe
as $$
  select coalesce(sum(r.quantity), 0)::integer from public.reservations r
  where r.product_id = p.id and r.released_at is null and (r.expires_at is null or r.expires_at > now())
$$;

-- Product.quantityAvailable: units on hand not set aside (db.reports.available).
create or replace function postgraphile_bench.products_quantity_available(p public.products)
returns integer
language sql stable parallel safe
as $$
  select postgraphile_bench.products_quantity_on_hand(p) - postgraphile_bench.products_quantity_held(p)
$$;

-- Product.quantityOnOrder: units on submitted orders not yet received (db.purchasing_reads.on_order).
create or replace function postgraphile_bench.products_quantity_on_order(p public.products)
returns integer
language sql stable parallel safe
as $$
  select coalesce(sum(l.quantity_ordered - l.quantity_received), 0)::integer
  from public.purchase_order_lines l
  join public.purchase_orders o on o.id = l.purchase_order_id
  where l.product_id = p.id and o.status in ('ORDERED', 'PARTIALLY_RECEIVED')
$$;

-- Product.quantityToOrder: the units that lift available + on order above the reorder point, rounded up
-- to whole reorder quantities (just those units with a reorder quantity of 0), as the API's
-- LowStockItem.quantityToOrder (db.reports.quantity_to_order).
create or replace function postgraphile_bench.products_quantity_to_order(p public.products)
returns integer
language sql stable parallel safe
as $$
  select case when p.reorder_quantity = 0 then short
              else ((short + p.reorder_quantity - 1) / p.reorder_quantity) * p.reorder_quantity end
  from (select p.reorder_point + 1
               - postgraphile_bench.products_quantity_available(p)
               - postgraphile_bench.products_quantity_on_order(p) as short) as shortfall
$$;

-- Product.preferredSupplier: the preferred supplier's terms, or null (the API's
-- LowStockItem.preferredSupplier).
create or replace function postgraphile_bench.products_preferred_supplier(p public.products)
returns public.product_suppliers
language sql stable parallel safe
as $$
  select ps.* from public.product_suppliers ps where ps.product_id = p.id and ps.is_preferred
$$;

-- Query.lowStockProducts: active products with a reorder point whose stock position over all warehouses,
-- available + on order, is at or below it, by name then id (the API's Query.lowStock without a warehouse;
-- like it, the products with more available than the point are passed without reading their orders).
create or replace function postgraphile_bench.low_stock_products()
returns setof public.products
language sql stable parallel safe
as $$
  select p.*
  from public.products p
  where p.is_active
    and p.reorder_point > 0
    and postgraphile_bench.products_quantity_available(p) <= p.reorder_point
    and postgraphile_bench.products_quantity_available(p)
        + (select coalesce(sum(l.quantity_ordered - l.quantity_received), 0)
           from public.purchase_order_lines l join public.purchase_orders o on o.id = l.purchase_order_id
           where l.product_id = p.id and o.status in ('ORDERED', 'PARTIALLY_RECEIVED'))
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
