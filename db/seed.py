"""Deterministic demo data: a three-level category tree, suppliers, products and their offers, and
warehouses with 90 days of stock history and the purchase orders that replenished them."""

import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import live
from db.models import (
    AdjustmentReason,
    Category,
    InventoryTransaction,
    Product,
    ProductSupplier,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReturnDisposition,
    StockLevel,
    Supplier,
    TransactionKind,
    Warehouse,
)
from db import selling
from db.types import utcnow

CENT = Decimal("0.01")
COST_PLACES = Decimal("0.0001")
# Why the demo's counts came up short (one per product, in turn); a count that found more is FOUND.
_SHORTFALL_REASONS = (
    AdjustmentReason.CYCLE_COUNT, AdjustmentReason.DAMAGED, AdjustmentReason.LOST, AdjustmentReason.EXPIRED
)


@dataclass(frozen=True)
class SeedSummary:
    categories: int
    suppliers: int
    products: int
    offers: int
    warehouses: int = 0
    transactions: int = 0
    purchase_orders: int = 0
    customers: int = 0
    sales_orders: int = 0


@dataclass(frozen=True)
class _Leaf:
    """A leaf category and the products it holds: every `item` comes in some of the `variants`."""

    name: str
    code: str
    items: tuple[str, ...]
    variants: tuple[str, ...]
    price: tuple[int, int]  # whole currency units, inclusive


@dataclass(frozen=True)
class _Branch:
    name: str
    code: str
    leaves: tuple[_Leaf, ...]
    kits: tuple[str, ...] = ()  # products filed under the branch itself rather than a leaf


@dataclass(frozen=True)
class _Root:
    name: str
    code: str
    description: str
    branches: tuple[_Branch, ...]


L, B, R = _Leaf, _Branch, _Root

# fmt: off
CATALOG: tuple[_Root, ...] = (
    R("Electronics", "ELC", "Computers, networking gear and audio equipment.", (
        B("Computers", "CMP", (
            L("Laptops", "LAP", ('Ultrabook 13"', 'Business Laptop 14"', 'Workstation Laptop 16"'),
              ("8 GB / 256 GB SSD", "16 GB / 512 GB SSD", "32 GB / 1 TB SSD"), (649, 2899)),
            L("Desktops", "DSK", ("Mini PC", "Tower PC", "All-in-One PC 24\""),
              ("Core i5, 16 GB", "Core i7, 32 GB", "Ryzen 7, 32 GB"), (449, 2199)),
            L("Monitors", "MON", ('Office Monitor 24"', 'QHD Monitor 27"', 'Ultrawide Monitor 34"'),
              ("IPS, HDMI", "IPS, USB-C", "VA, Height Adjustable"), (129, 899)),
            L("Keyboards & Mice", "KBM", ("Wireless Keyboard", "Mechanical Keyboard", "Ergonomic Mouse"),
              ("US Layout, Black", "UK Layout, Black", "US Layout, White"), (19, 149)),
        ), kits=("Desk Setup Bundle, Keyboard + Mouse + Stand",)),
        B("Networking", "NET", (
            L("Routers", "RTR", ("Wi-Fi 6 Router", "Wi-Fi 6E Mesh Node", "VPN Router"),
              ("Dual Band", "Tri Band", "Business Edition"), (59, 499)),
            L("Switches", "SWI", ("Unmanaged Switch", "Smart Managed Switch", "PoE+ Switch"),
              ("8 Port", "16 Port", "24 Port"), (25, 699)),
            L("Network Cables", "NCB", ("Cat6 Patch Cable", "Cat6a Patch Cable", "Fiber Patch Cable LC-LC"),
              ("0.5 m", "2 m", "5 m", "10 m"), (2, 39)),
        )),
        B("Audio", "AUD", (
            L("Headphones", "HPH", ("Over-Ear Headphones", "On-Ear Headset", "In-Ear Earbuds"),
              ("Wired", "Bluetooth", "Noise Cancelling"), (15, 379)),
            L("Speakers", "SPK", ("Bookshelf Speakers", "Conference Speakerphone", "Portable Speaker"),
              ("Black", "White", "Grey"), (29, 449)),
            L("Microphones", "MIC", ("USB Microphone", "Lavalier Microphone", "Boundary Microphone"),
              ("Cardioid", "Omnidirectional"), (19, 299)),
        )),
    )),
    R("Hardware", "HRD", "Fasteners, adhesives and fittings for assembly and repair.", (
        B("Fasteners", "FAS", (
            L("Screws", "SCR", ("Wood Screw", "Machine Screw", "Drywall Screw", "Self-Tapping Screw"),
              ("M3 x 12 mm, Box of 100", "M4 x 20 mm, Box of 100", "M5 x 30 mm, Box of 100",
               "M6 x 40 mm, Box of 50"), (3, 24)),
            L("Bolts", "BLT", ("Hex Bolt", "Carriage Bolt", "Eye Bolt"),
              ("M6 x 50 mm, Zinc, Box of 50", "M8 x 60 mm, Zinc, Box of 25", "M10 x 80 mm, Stainless, Box of 10"),
              (5, 36)),
            L("Nuts", "NUT", ("Hex Nut", "Nylon Lock Nut", "Wing Nut", "Flange Nut"),
              ("M5, Box of 100", "M6, Box of 100", "M8, Box of 50"), (2, 18)),
            L("Washers", "WSH", ("Flat Washer", "Spring Washer", "Fender Washer"),
              ("M5, Box of 200", "M8, Box of 100", "M10, Box of 100"), (2, 14)),
            L("Wall Anchors", "ANC", ("Nylon Wall Plug", "Hollow Wall Anchor", "Toggle Bolt Anchor"),
              ("6 mm, Pack of 50", "8 mm, Pack of 50", "10 mm, Pack of 25"), (3, 22)),
        ), kits=("Screw and Anchor Assortment, 500 pcs", "Nut, Bolt and Washer Assortment, 320 pcs")),
        B("Adhesives & Sealants", "ADH", (
            L("Glues", "GLU", ("Wood Glue", "Epoxy Adhesive", "Super Glue", "Construction Adhesive"),
              ("20 g", "250 ml", "500 ml"), (3, 29)),
            L("Sealants", "SEA", ("Silicone Sealant", "Acrylic Caulk", "Polyurethane Sealant"),
              ("Clear, 300 ml", "White, 300 ml", "Grey, 600 ml"), (4, 19)),
            L("Tapes", "TAP", ("Duct Tape", "Double-Sided Tape", "Masking Tape", "Electrical Tape"),
              ("19 mm x 20 m", "25 mm x 25 m", "48 mm x 50 m"), (2, 15)),
        )),
        B("Fittings", "FIT", (
            L("Hinges", "HNG", ("Butt Hinge", "Concealed Cabinet Hinge", "Piano Hinge"),
              ("Steel, Pair", "Brass, Pair", "Stainless, Pack of 10"), (3, 45)),
            L("Brackets", "BRK", ("Angle Bracket", "Shelf Bracket", "Corner Brace"),
              ("50 mm, Pack of 10", "100 mm, Pack of 4", "150 mm, Pair"), (3, 26)),
            L("Padlocks", "LCK", ("Laminated Padlock", "Brass Padlock", "Combination Padlock"),
              ("30 mm", "40 mm", "50 mm"), (6, 48)),
        )),
    )),
    R("Office", "OFF", "Paper, writing supplies and office furniture.", (
        B("Paper Products", "PPR", (
            L("Copy Paper", "PAP", ("Copy Paper A4", "Copy Paper Letter", "Recycled Copy Paper A4"),
              ("80 gsm, Ream of 500", "80 gsm, Box of 5 Reams", "100 gsm, Ream of 500"), (5, 49)),
            L("Notebooks", "NTB", ("Spiral Notebook", "Hardcover Notebook", "Legal Pad"),
              ("A5, Ruled", "A4, Ruled", "A4, Squared"), (2, 19)),
            L("Labels", "LBL", ("Address Labels", "Shipping Labels", "Barcode Labels"),
              ("Sheet of 21, Pack of 100", "Sheet of 8, Pack of 100", "Roll of 1000"), (8, 39)),
        )),
        B("Writing Supplies", "WRT", (
            L("Pens", "PEN", ("Ballpoint Pen", "Gel Pen", "Rollerball Pen", "Fountain Pen"),
              ("Blue, Box of 12", "Black, Box of 12", "Red, Box of 12"), (4, 39)),
            L("Markers", "MRK", ("Permanent Marker", "Whiteboard Marker", "Highlighter"),
              ("Black, Pack of 4", "Assorted, Pack of 4", "Assorted, Pack of 12"), (4, 24)),
            L("Pencils", "PCL", ("Graphite Pencil HB", "Mechanical Pencil 0.5 mm", "Carpenter Pencil"),
              ("Box of 12", "Box of 24", "Box of 72"), (3, 29)),
        ), kits=("Office Starter Kit, Pens + Markers + Notebooks",)),
        B("Furniture", "FUR", (
            L("Chairs", "CHR", ("Task Chair", "Ergonomic Mesh Chair", "Stacking Chair"),
              ("Black", "Grey", "Blue"), (49, 699)),
            L("Desks", "DES", ("Office Desk", "Sit-Stand Desk", "Corner Desk"),
              ("120 x 60 cm, Oak", "140 x 70 cm, White", "160 x 80 cm, Walnut"), (129, 899)),
            L("Storage Cabinets", "CAB", ("Filing Cabinet", "Steel Storage Cabinet", "Mobile Pedestal"),
              ("2 Drawer", "3 Drawer", "4 Drawer"), (89, 549)),
        )),
    )),
    R("Tools", "TLS", "Hand tools, power tools and measuring instruments.", (
        B("Hand Tools", "HTL", (
            L("Wrenches", "WRN", ("Combination Wrench", "Adjustable Wrench", "Torque Wrench"),
              ("10 mm", "13 mm", "Set of 12"), (6, 189)),
            L("Screwdrivers", "SDR", ("Phillips Screwdriver", "Slotted Screwdriver", "Torx Screwdriver"),
              ("PH1 / 3 mm", "PH2 / 5 mm", "Set of 6"), (4, 49)),
            L("Pliers", "PLR", ("Combination Pliers", "Long Nose Pliers", "Diagonal Cutters"),
              ("160 mm", "180 mm", "200 mm"), (8, 39)),
            L("Hammers", "HAM", ("Claw Hammer", "Ball Pein Hammer", "Rubber Mallet"),
              ("340 g", "450 g", "680 g"), (9, 45)),
        ), kits=("Hand Tool Set, 108 pcs",)),
        B("Power Tools", "PTL", (
            L("Drills", "DRL", ("Cordless Drill Driver", "Hammer Drill", "Impact Driver"),
              ("12 V, 2 Ah", "18 V, 4 Ah", "18 V, Body Only"), (59, 349)),
            L("Saws", "SAW", ("Circular Saw", "Jigsaw", "Reciprocating Saw"),
              ("Corded", "18 V, Body Only", "18 V, 5 Ah Kit"), (69, 399)),
            L("Sanders", "SND", ("Random Orbit Sander", "Sheet Sander", "Belt Sander"),
              ("125 mm", "150 mm", "76 x 457 mm"), (39, 249)),
        )),
        B("Measuring & Layout", "MSR", (
            L("Tape Measures", "TPM", ("Tape Measure", "Long Tape Measure", "Pocket Tape"),
              ("3 m", "5 m", "8 m", "30 m"), (4, 39)),
            L("Levels", "LVL", ("Spirit Level", "Torpedo Level", "Laser Level"),
              ("600 mm", "1200 mm", "Self-Leveling"), (8, 249)),
            L("Calipers", "CAL", ("Vernier Caliper", "Digital Caliper", "Dial Caliper"),
              ("150 mm", "200 mm", "300 mm"), (12, 159)),
        )),
    )),
    R("Safety", "SAF", "Protective equipment, first aid and workplace signage.", (
        B("Protective Equipment", "PPE", (
            L("Gloves", "GLV", ("Nitrile Gloves", "Cut Resistant Gloves", "Leather Work Gloves"),
              ("Size M", "Size L", "Size XL"), (3, 29)),
            L("Safety Glasses", "GLS", ("Safety Glasses", "Safety Goggles", "Overspecs"),
              ("Clear Lens", "Tinted Lens", "Anti-Fog Lens"), (3, 24)),
            L("Hearing Protection", "HRP", ("Foam Earplugs", "Banded Earplugs", "Earmuffs"),
              ("SNR 27 dB", "SNR 32 dB", "SNR 37 dB"), (2, 49)),
        )),
        B("First Aid", "AID", (
            L("First Aid Kits", "FAK", ("Workplace First Aid Kit", "Vehicle First Aid Kit", "Burns Kit"),
              ("Small", "Medium", "Large"), (12, 119)),
            L("Bandages", "BND", ("Adhesive Bandages", "Elastic Bandage", "Sterile Gauze Pads"),
              ("Pack of 20", "Pack of 50", "Pack of 100"), (2, 19)),
        )),
        B("Signage", "SIG", (
            L("Safety Signs", "SGN", ("Fire Exit Sign", "Hard Hat Area Sign", "Wet Floor Sign"),
              ("200 x 300 mm", "300 x 400 mm", "Self-Adhesive Vinyl"), (4, 39)),
            L("Floor Marking", "FLM", ("Floor Marking Tape", "Hazard Warning Tape"),
              ("Yellow, 50 mm x 33 m", "Yellow/Black, 50 mm x 33 m", "Red/White, 75 mm x 33 m"), (6, 34)),
        )),
    )),
    R("Electrical", "ELE", "Wire, connectors, lighting and power distribution.", (
        B("Wiring", "WRG", (
            L("Electrical Wire", "WIR", ("Solid Copper Wire", "Stranded Hook-Up Wire", "Twin and Earth Cable"),
              ("1.5 mm², 50 m", "2.5 mm², 50 m", "2.5 mm², 100 m"), (19, 189)),
            L("Connectors", "CON", ("Lever Wire Connector", "Butt Splice Connector", "Ring Terminal"),
              ("Pack of 25", "Pack of 50", "Pack of 100"), (4, 32)),
            L("Cable Ties", "CTI", ("Nylon Cable Tie", "Reusable Cable Tie", "Stainless Cable Tie"),
              ("100 mm, Pack of 100", "200 mm, Pack of 100", "300 mm, Pack of 50"), (2, 26)),
        )),
        B("Lighting", "LGT", (
            L("LED Bulbs", "LED", ("LED Bulb E27", "LED Bulb GU10", "LED Tube T8"),
              ("Warm White", "Cool White", "Daylight"), (2, 19)),
            L("Work Lights", "WKL", ("LED Work Light", "Tripod Work Light", "Magnetic Inspection Lamp"),
              ("20 W", "30 W", "Rechargeable"), (15, 149)),
            L("Flashlights", "FLS", ("LED Flashlight", "Headlamp", "Penlight"),
              ("AA Battery", "Rechargeable", "Zoomable"), (5, 59)),
        )),
        B("Power Distribution", "PWR", (
            L("Extension Cords", "EXT", ("Extension Cord", "Heavy Duty Extension Cord", "Cable Reel"),
              ("5 m", "10 m", "25 m"), (9, 99)),
            L("Power Strips", "PST", ("Power Strip", "Surge Protector", "Power Strip with USB"),
              ("4 Outlets", "6 Outlets", "8 Outlets"), (9, 59)),
        )),
    )),
)
# fmt: on

# (name, the root codes it sells); the 555-01xx phone numbers and .example domains are reserved
# for fiction.
SUPPLIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Acme Industrial Supply", ("HRD", "TLS", "SAF", "ELE")),
    ("Northwind Traders", ("ELC", "OFF", "ELE")),
    ("Summit Fasteners", ("HRD",)),
    ("Union Fastener Corp.", ("HRD",)),
    ("Ironclad Hardware", ("HRD", "TLS")),
    ("Tri-County Hardware", ("HRD", "TLS", "ELE")),
    ("Coastal Adhesives", ("HRD",)),
    ("Pioneer Electronics Distribution", ("ELC",)),
    ("Metro Computer Wholesale", ("ELC",)),
    ("Silverline Networks", ("ELC",)),
    ("Crescent Electronics", ("ELC", "ELE")),
    ("Orion Audio", ("ELC",)),
    ("BlueRidge Office Supply", ("OFF",)),
    ("Evergreen Office Products", ("OFF",)),
    ("Lakeside Paper Co.", ("OFF",)),
    ("Sterling Labels & Print", ("OFF",)),
    ("Redwood Furniture Works", ("OFF",)),
    ("Harbor Tool Company", ("TLS",)),
    ("Granite State Tools", ("TLS", "HRD")),
    ("Patriot Power Tools", ("TLS",)),
    ("Precision Measuring Instruments", ("TLS",)),
    ("Keystone Safety Products", ("SAF",)),
    ("Highland Safety Supply", ("SAF",)),
    ("Atlas Workwear", ("SAF",)),
    ("Cascade Electrical Supply", ("ELE",)),
    ("Frontier Wire & Cable", ("ELE", "ELC")),
    ("Beacon Lighting", ("ELE",)),
    ("Meridian Components", ("ELC", "ELE", "HRD")),
    ("Pinnacle Distribution", ("ELC", "HRD", "OFF", "TLS", "SAF", "ELE")),
    ("Riverbend Supply Co.", ("HRD", "OFF", "SAF")),
    ("Vertex Industrial", ("TLS", "SAF", "ELE")),
    ("Granite Peak Safety", ("SAF",)),
)

_STREETS = ("Industrial Pkwy", "Commerce Dr", "Harbor Rd", "Main St", "Mill St", "Depot Ave", "Enterprise Way")
_CITIES = (
    ("Springfield", "IL", "627"),
    ("Columbus", "OH", "432"),
    ("Portland", "OR", "972"),
    ("Madison", "WI", "537"),
    ("Raleigh", "NC", "276"),
    ("Boise", "ID", "837"),
    ("Albany", "NY", "122"),
)
_LEAD_TIMES = (1, 2, 3, 5, 7, 10, 14, 21, 30)


def slugify(text: str) -> str:
    """Lowercase words joined by hyphens: "Keyboards & Mice" -> "keyboards-mice"."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


async def has_products(session: AsyncSession) -> bool:
    """Whether any product exists (the demo catalog is only loaded into an empty catalog)."""
    return bool(await session.scalar(select(select(Product.id).exists())))


async def seed_demo(session: AsyncSession, *, seed: int = 1) -> SeedSummary:
    """Insert the demo data; the same `seed` gives the same data, timestamps aside. The caller commits."""
    rng = random.Random(seed)
    now = utcnow()
    category_ids = await _insert_categories(session, now)
    suppliers = await _insert_suppliers(session, rng, now)
    products = _product_rows(rng, now, category_ids)
    product_ids = await _insert_returning_ids(session, Product, products)
    offers = _offer_rows(rng, now, products, product_ids, suppliers)
    await session.execute(insert(ProductSupplier), offers)
    # The history draws from a generator of its own, so the catalog is the same with or without it.
    history = await _insert_stock_history(session, random.Random(f"stock-{seed}"), now, products, product_ids, offers)
    warehouses, transactions, purchase_orders = history
    customers, sales_orders, sales_entries = await _insert_sales(session, random.Random(f"sales-{seed}"))
    return SeedSummary(
        len(category_ids), len(SUPPLIERS), len(products), len(offers), warehouses, transactions + sales_entries,
        purchase_orders, customers, sales_orders,
    )


async def _insert_returning_ids(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    result = await session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


async def _insert_categories(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Insert the tree a level at a time, parents first; returns ids keyed by code path ("ELC-LAP")."""
    slugs: set[str] = set()
    # A node is (code path, name, description, parent id, parent slug).
    Node = tuple[str, str, str | None, int | None, str]

    async def insert_level(nodes: list[Node]) -> dict[str, tuple[int, str]]:
        rows: list[dict[str, Any]] = []
        for _, name, description, parent_id, parent_slug in nodes:
            slug = slugify(name)
            if slug in slugs:  # the same name elsewhere in the tree
                slug = f"{parent_slug}-{slug}"
            slugs.add(slug)
            rows.append(
                {
                    "name": name,
                    "slug": slug,
                    "description": description,
                    "parent_id": parent_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = await _insert_returning_ids(session, Category, rows)
        return {node[0]: (id_, row["slug"]) for node, id_, row in zip(nodes, ids, rows, strict=True)}

    roots = await insert_level([(r.code, r.name, r.description, None, "") for r in CATALOG])
    branches = await insert_level(
        [(f"{r.code}-{b.code}", b.name, None, *roots[r.code]) for r in CATALOG for b in r.branches]
    )
    leaves = await insert_level(
        [
            (f"{r.code}-{leaf.code}", leaf.name, None, *branches[f"{r.code}-{b.code}"])
            for r in CATALOG
            for b in r.branches
            for leaf in b.leaves
        ]
    )
    return {code: id_ for level in (roots, branches, leaves) for code, (id_, _) in level.items()}


async def _insert_suppliers(
    session: AsyncSession, rng: random.Random, now: datetime
) -> list[tuple[int, str, tuple[str, ...]]]:
    """Insert the suppliers; returns (id, SKU prefix, root codes sold) for the active ones."""
    inactive = set(rng.sample(range(len(SUPPLIERS)), 4))
    rows = []
    for number, (name, _) in enumerate(SUPPLIERS):
        domain = slugify(name.replace("&", " ").removesuffix(".").removesuffix(" Co").removesuffix(" Corp"))
        city, state, zip_prefix = rng.choice(_CITIES)
        street = f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}"
        rows.append(
            {
                "name": name,
                "email": f"sales@{domain}.example",
                "phone": f"+1-555-01{number:02d}",
                "website": f"https://www.{domain}.example",
                "address": f"{street}, {city}, {state} {zip_prefix}{rng.randint(0, 99):02d}",
                "is_active": number not in inactive,
                "created_at": now - timedelta(days=rng.randint(400, 1500)),
                "updated_at": now,
            }
        )
    ids = await _insert_returning_ids(session, Supplier, rows)
    return [
        (supplier_id, "".join(word[0] for word in name.split() if word[0].isalnum()).upper(), roots)
        for supplier_id, (name, roots), row in zip(ids, SUPPLIERS, rows, strict=True)
        if row["is_active"]
    ]


def _product_rows(rng: random.Random, now: datetime, category_ids: dict[str, int]) -> list[dict[str, Any]]:
    rows = []
    for root in CATALOG:
        for branch in root.branches:
            for leaf in branch.leaves:
                # Later items and variants are the bigger, better ones: they sit higher in the price range.
                steps = max(1, len(leaf.items) + len(leaf.variants) - 2)
                combos = [
                    (item, variant, (i + v) / steps)
                    for i, item in enumerate(leaf.items)
                    for v, variant in enumerate(leaf.variants)
                ]
                chosen = sorted(rng.sample(range(len(combos)), min(len(combos), rng.randint(5, 7))))
                category_id = category_ids[f"{root.code}-{leaf.code}"]
                for number, index in enumerate(chosen, start=1):
                    item, variant, rank = combos[index]
                    sku = f"{root.code}-{leaf.code}-{number:04d}"
                    price = _price(rng, leaf.price, rank)
                    rows.append(_product(rng, now, sku, f"{item}, {variant}", category_id, price))
            category_id = category_ids[f"{root.code}-{branch.code}"]
            for number, kit in enumerate(branch.kits, start=1):
                sku = f"{root.code}-{branch.code}-{number:04d}"
                rows.append(_product(rng, now, sku, kit, category_id, _price(rng, (25, 249), rng.random())))
    return rows


def _product(
    rng: random.Random, now: datetime, sku: str, name: str, category_id: int, price: Decimal
) -> dict[str, Any]:
    # Cheap items are stocked by the hundred, expensive ones a few at a time.
    points = (50, 100, 200) if price < 20 else (10, 20, 40) if price < 200 else (2, 3, 5)
    reorder_point = rng.choice(points)
    created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
    return {
        "sku": sku,
        "name": name,
        "description": None,
        "unit_price": price,
        "category_id": category_id,
        "reorder_point": reorder_point,
        "reorder_quantity": reorder_point * rng.randint(2, 4),
        "is_active": rng.random() >= 0.04,
        "created_at": created,
        "updated_at": created,
    }


def _price(rng: random.Random, bounds: tuple[int, int], rank: float) -> Decimal:
    """A shelf price (12.99, 12.49, ...) at `rank` (0 to 1) of the way through `bounds`, give or take."""
    low, high = bounds
    whole = max(low, round(low + (high - low) * rank * rng.uniform(0.85, 1.05)))
    return Decimal(whole) - Decimal(rng.choice(("0.01", "0.05", "0.51", "0.00")))


def _offer_rows(
    rng: random.Random,
    now: datetime,
    products: list[dict[str, Any]],
    product_ids: list[int],
    suppliers: list[tuple[int, str, tuple[str, ...]]],
) -> list[dict[str, Any]]:
    """One to four offers per product from suppliers selling its department; the cheapest is preferred."""
    rows = []
    for number, (product, product_id) in enumerate(zip(products, product_ids, strict=True), start=1):
        root_code = product["sku"].split("-", 1)[0]
        candidates = [s for s in suppliers if root_code in s[2]]
        offers = []
        for supplier_id, prefix, _ in rng.sample(candidates, min(len(candidates), rng.randint(1, 4))):
            margin = Decimal(rng.randint(45, 80)) / 100
            offers.append(
                {
                    "product_id": product_id,
                    "supplier_id": supplier_id,
                    "supplier_sku": f"{prefix}-{rng.randint(100, 999)}{number:04d}",
                    "unit_cost": (product["unit_price"] * margin).quantize(CENT, ROUND_HALF_UP),
                    "lead_time_days": rng.choice(_LEAD_TIMES),
                    "is_preferred": False,
                    "created_at": product["created_at"],
                    "updated_at": now,
                }
            )
        min(offers, key=lambda offer: offer["unit_cost"])["is_preferred"] = True
        rows.extend(offers)
    return rows


# --- stock history ------------------------------------------------------------------------------

# (code, name, address, the history day it closed on: its stock moved to the first warehouse, then it
# was archived; None while open).
WAREHOUSES: tuple[tuple[str, str, str, int | None], ...] = (
    ("MAIN", "Main Distribution Center", "2400 Industrial Pkwy, Columbus, OH 43215", None),
    ("WEST", "West Coast Warehouse", "815 Harbor Rd, Portland, OR 97217", None),
    ("EAST", "East Fulfillment Center", "77 Commerce Dr, Raleigh, NC 27603", None),
    ("DEPOT", "Riverside Depot", "12 Mill St, Albany, NY 12207", 45),
)
HISTORY_DAYS = 90
_SHIP_CHANCE = 0.05  # per day and stocked (product, warehouse)
_PURCHASING_DAY = 0  # the day of the week on which what is low gets ordered


@dataclass
class _Order:
    """A purchase order as the history builds it; `lines` maps product id to [ordered, received, cost]."""

    number: str
    supplier_id: int
    warehouse_id: int
    created_at: datetime
    lines: dict[int, list[Any]] = field(default_factory=dict)
    status: PurchaseOrderStatus = PurchaseOrderStatus.ORDERED
    ordered_at: datetime | None = None
    expected_day: int | None = None
    received_at: datetime | None = None
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None


class _History:
    """Stock moved day by day: every entry goes through `record`, which keeps each level and balance
    the sum of the entries before it and updates the product's average cost as receipts do."""

    def __init__(self, rng: random.Random, start: datetime, products: list[dict[str, Any]], ids: list[int]) -> None:
        self.rng = rng
        self.start = start
        self.reorder_points = {pid: p["reorder_point"] for pid, p in zip(ids, products, strict=True)}
        self.reorder_quantities = {pid: p["reorder_quantity"] for pid, p in zip(ids, products, strict=True)}
        self.homes: dict[int, list[int]] = defaultdict(list)  # the warehouses that stock each product
        self.entries: list[dict[str, Any]] = []
        self.levels: dict[tuple[int, int], int] = {}
        self.on_hand: dict[int, int] = defaultdict(int)
        self.cost: dict[int, Decimal] = {}
        self.orders: list[_Order] = []
        self.open_lines: set[tuple[int, int]] = set()  # (product, warehouse) with an order under way
        self.shipped: list[tuple[int, int]] = []
        self.numbers: dict[str, int] = defaultdict(int)

    def at(self, day: int, earliest: int = 7, latest: int = 19) -> datetime:
        """A time within working hours (UTC) on history day `day`."""
        return self.start + timedelta(days=day, seconds=self.rng.randint(earliest * 3600, latest * 3600))

    def next_number(self, prefix: str) -> str:
        """The next document number of a series: PO-000001, SO-000001, ..."""
        self.numbers[prefix] += 1
        return f"{prefix}{self.numbers[prefix]:06d}"

    def record(
        self, moment: datetime, product_id: int, warehouse_id: int, kind: TransactionKind, quantity: int, **extra: Any
    ) -> None:
        key = (product_id, warehouse_id)
        level = self.levels.get(key, 0) + quantity
        if level < 0:
            raise AssertionError(f"the demo history took {key} below zero")
        if kind is TransactionKind.RECEIPT:
            held, average = self.on_hand[product_id], self.cost.get(product_id, Decimal(0))
            total = held + quantity
            self.cost[product_id] = ((average * held + extra["unit_cost"] * quantity) / total).quantize(
                COST_PLACES, ROUND_HALF_UP
            )
        self.levels[key] = level
        self.on_hand[product_id] += quantity
        self.entries.append(
            {
                "product_id": product_id,
                "warehouse_id": warehouse_id,
                "kind": kind,
                "quantity": quantity,
                "balance_after": level,
                "unit_cost": extra.get("unit_cost"),
                "reference": extra.get("reference"),
                "note": extra.get("note"),
                "reason": extra.get("reason"),
                "purchase_order_id": extra.get("order"),  # the _Order until the orders have ids
                "created_at": moment,
            }
        )


async def _insert_stock_history(
    session: AsyncSession,
    rng: random.Random,
    now: datetime,
    products: list[dict[str, Any]],
    product_ids: list[int],
    offers: list[dict[str, Any]],
) -> tuple[int, int, int]:
    """Warehouses, HISTORY_DAYS days of ledger entries up to yesterday and the purchase orders behind the
    receipts, the stock levels they sum to and the products' average costs; returns how many warehouses,
    entries and orders were inserted."""
    await live.lock_appends(session)  # the ledger's ids commit in order (db/live.py)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=HISTORY_DAYS)
    warehouse_rows = [
        {
            "code": code,
            "name": name,
            "address": address,
            "is_active": closes is None,
            "created_at": now - timedelta(days=rng.randint(700, 1800)),
            "updated_at": now if closes is None else start + timedelta(days=closes, hours=12),
        }
        for code, name, address, closes in WAREHOUSES
    ]
    warehouse_ids = await _insert_returning_ids(session, Warehouse, warehouse_rows)
    closing = {wid: closes for wid, (*_, closes) in zip(warehouse_ids, WAREHOUSES, strict=True) if closes is not None}

    history = _History(rng, start, products, product_ids)
    _simulate(history, products, product_ids, offers, warehouse_ids, closing)

    order_ids = await _insert_returning_ids(session, PurchaseOrder, [_order_row(o, start) for o in history.orders])
    ids = {id(order): order_id for order, order_id in zip(history.orders, order_ids, strict=True)}
    lines = [
        {
            "purchase_order_id": ids[id(order)],
            "product_id": product_id,
            "quantity_ordered": ordered,
            "quantity_received": received,
            "unit_cost": cost,
        }
        for order in history.orders
        for product_id, (ordered, received, cost) in order.lines.items()
    ]
    await session.execute(insert(PurchaseOrderLine), lines)
    for entry in history.entries:
        if entry["purchase_order_id"] is not None:
            entry["purchase_order_id"] = ids[id(entry["purchase_order_id"])]
    await session.execute(insert(InventoryTransaction), history.entries)
    await live.announce(session)
    await session.execute(
        insert(StockLevel),
        [
            {"product_id": p, "warehouse_id": w, "quantity": quantity, "updated_at": now}
            for (p, w), quantity in sorted(history.levels.items())
        ],
    )
    await session.execute(update(Product), [{"id": p, "average_cost": cost} for p, cost in sorted(history.cost.items())])
    return len(warehouse_ids), len(history.entries), len(history.orders)


def _order_row(order: _Order, start: datetime) -> dict[str, Any]:
    return {
        "number": order.number,
        "supplier_id": order.supplier_id,
        "status": order.status,
        "expected_date": None if order.expected_day is None else (start + timedelta(days=order.expected_day)).date(),
        "note": None,
        "ordered_at": order.ordered_at,
        "received_at": order.received_at,
        "cancelled_at": order.cancelled_at,
        "created_at": order.created_at,
        "updated_at": order.updated_at or order.created_at,
    }


def _simulate(
    history: _History,
    products: list[dict[str, Any]],
    product_ids: list[int],
    offers: list[dict[str, Any]],
    warehouse_ids: list[int],
    closing: dict[int, int],
) -> None:
    """Opening stock, then each day shipments, returns, counts, transfers and deliveries in time order; once
    a week, in the evening, a purchase order per supplier and warehouse for what is at its reorder point."""
    rng, start = history.rng, history.start
    preferred = {o["product_id"]: o for o in offers if o["is_preferred"]}
    main = warehouse_ids[0]
    # Each active product is stocked from the day it was created in the main warehouse and some others;
    # its demand (units a day) is a fraction of its reorder point.
    first_day: dict[tuple[int, int], int] = {}
    demand: dict[tuple[int, int], float] = {}
    for pid, product in zip(product_ids, products, strict=True):
        if not product["is_active"]:
            continue
        day = max(0, math.ceil((product["created_at"] - start) / timedelta(days=1)))
        homes = [main] + [w for w in warehouse_ids[1:] if rng.random() < (0.3 if w in closing else 0.4)]
        for wid in homes:
            if wid in closing and day >= closing[wid]:
                continue
            history.homes[pid].append(wid)
            first_day[(pid, wid)] = day
            demand[(pid, wid)] = history.reorder_points[pid] / rng.uniform(12, 40)

    deliveries: dict[int, list[tuple[_Order, float]]] = defaultdict(list)
    cancellations: dict[int, list[_Order]] = defaultdict(list)
    for day in range(HISTORY_DAYS):
        stocked = [k for k, d in first_day.items() if d <= day and not (k[1] in closing and day >= closing[k[1]])]
        events: list[tuple[datetime, int, Any]] = []
        for key in stocked:
            if first_day[key] == day:
                events.append((history.at(day, 6, 8), len(events), ("open", key)))
            elif rng.random() < _SHIP_CHANCE:
                units = max(1, round(demand[key] / _SHIP_CHANCE * rng.uniform(0.4, 1.6)))
                events.append((history.at(day), len(events), ("ship", key, units)))
        for _ in range(rng.randint(0, 4)):
            if history.shipped:
                events.append((history.at(day), len(events), ("return", rng.choice(history.shipped))))
        for _ in range(rng.randint(0, 2)):
            if stocked:
                events.append((history.at(day), len(events), ("count", rng.choice(stocked))))
        if stocked and rng.random() < 0.8:
            events.append((history.at(day), len(events), ("transfer", rng.choice(stocked))))
        for order, share in deliveries.pop(day, []):
            events.append((history.at(day, 8, 16), len(events), ("deliver", order, share)))
        for order in cancellations.pop(day, []):
            events.append((history.at(day, 8, 16), len(events), ("cancel", order)))
        for wid, closes in closing.items():
            if closes == day:
                events.append((start + timedelta(days=day, hours=12), len(events), ("close", wid)))
        for moment, _, event in sorted(events, key=lambda e: (e[0], e[1])):
            _apply(history, moment, event, preferred, main, closing)
        if day % 7 == _PURCHASING_DAY:
            _reorder(history, day, preferred, closing, deliveries, cancellations)


def _apply(
    history: _History,
    moment: datetime,
    event: tuple[Any, ...],
    preferred: dict[int, dict[str, Any]],
    main: int,
    closing: dict[int, int],
) -> None:
    rng, kind = history.rng, event[0]
    if kind == "open":
        pid, wid = event[1]
        units = max(1, round(history.reorder_points[pid] * rng.uniform(1.5, 3.5)))
        cost = (preferred[pid]["unit_cost"] * Decimal(rng.randint(92, 103)) / 100).quantize(CENT, ROUND_HALF_UP)
        history.record(moment, pid, wid, TransactionKind.RECEIPT, units, unit_cost=cost, note="Opening stock")
    elif kind == "ship":
        (pid, wid), units = event[1], event[2]
        units = min(units, history.levels.get((pid, wid), 0))
        if units:
            history.record(moment, pid, wid, TransactionKind.SHIPMENT, -units, reference=history.next_number("SO-"))
            history.shipped.append((pid, wid))
    elif kind == "return":
        pid, wid = event[1]
        if wid not in closing:
            units = rng.randint(1, 2)
            history.record(moment, pid, wid, TransactionKind.RETURN, units, reference=history.next_number("RMA-"))
    elif kind == "count":
        pid, wid = event[1]
        level = history.levels.get((pid, wid), 0)
        change = max(-level, rng.choice((-3, -2, -1, -1, 1, 2)))
        if change:
            # A reason for every count, taken from the product rather than the random generator, so that the
            # rest of the demo history stays as it was before counts had reasons.
            reason = AdjustmentReason.FOUND if change > 0 else _SHORTFALL_REASONS[pid % len(_SHORTFALL_REASONS)]
            history.record(moment, pid, wid, TransactionKind.ADJUSTMENT, change, note="Cycle count", reason=reason)
    elif kind == "transfer":
        pid, source = event[1]
        level = history.levels.get((pid, source), 0)
        targets = [w for w in history.homes[pid] if w != source and w not in closing]
        units = (level - history.reorder_points[pid]) // 2
        if units > 0 and targets:
            _transfer(history, moment, pid, source, rng.choice(targets), units, "Rebalancing stock")
    elif kind == "close":
        wid = event[1]
        for (pid, held_in), level in sorted(history.levels.items()):
            if held_in == wid and level:
                _transfer(history, moment, pid, wid, main, level, "Depot closed; stock moved")
    elif kind == "deliver":
        order, share = event[1], event[2]
        if order.status is PurchaseOrderStatus.RECEIVED:  # the first part brought everything
            return
        for pid, line in order.lines.items():
            ordered, received, cost = line
            units = ordered - received if share >= 1 else max(1, math.floor(ordered * share))
            if units:
                line[1] += units
                history.record(
                    moment, pid, order.warehouse_id, TransactionKind.RECEIPT, units,
                    unit_cost=cost, reference=order.number, order=order,
                )
            if line[1] == ordered:
                history.open_lines.discard((pid, order.warehouse_id))
        done = all(received == ordered for ordered, received, _ in order.lines.values())
        order.status = PurchaseOrderStatus.RECEIVED if done else PurchaseOrderStatus.PARTIALLY_RECEIVED
        order.received_at = moment if done else None
        order.updated_at = moment
    elif kind == "cancel":
        order = event[1]
        order.status, order.cancelled_at, order.updated_at = PurchaseOrderStatus.CANCELLED, moment, moment
        for pid in order.lines:
            history.open_lines.discard((pid, order.warehouse_id))


def _transfer(history: _History, moment: datetime, pid: int, source: int, target: int, units: int, note: str) -> None:
    reference = history.next_number("TR-")
    history.record(moment, pid, source, TransactionKind.TRANSFER_OUT, -units, reference=reference, note=note)
    history.record(moment, pid, target, TransactionKind.TRANSFER_IN, units, reference=reference, note=note)


def _reorder(
    history: _History,
    day: int,
    preferred: dict[int, dict[str, Any]],
    closing: dict[int, int],
    deliveries: dict[int, list[tuple[_Order, float]]],
    cancellations: dict[int, list[_Order]],
) -> None:
    """Order what is at or below its reorder point and not already on order, from the preferred supplier."""
    rng, point, batch = history.rng, history.reorder_points, history.reorder_quantities
    orders: dict[tuple[int, int], _Order] = {}
    moment = history.at(day, 17, 19)
    for (pid, wid), level in sorted(history.levels.items()):
        if wid in closing or level > point[pid] or (pid, wid) in history.open_lines:
            continue
        offer = preferred[pid]
        key = (offer["supplier_id"], wid)
        if key not in orders:
            orders[key] = _Order(history.next_number("PO-"), offer["supplier_id"], wid, moment)
        orders[key].lines[pid] = [max(batch[pid], point[pid] - level + 1), 0, offer["unit_cost"]]
        history.open_lines.add((pid, wid))
    last_run = day + 7 >= HISTORY_DAYS
    for number, order in enumerate(orders.values()):
        history.orders.append(order)
        if last_run and number % 2 == 0:
            order.status = PurchaseOrderStatus.DRAFT  # still being put together
            continue
        lead = max(preferred[pid]["lead_time_days"] for pid in order.lines)
        order.ordered_at, order.expected_day = moment, day + lead
        if rng.random() < 0.05:
            cancellations[day + rng.randint(1, 3)].append(order)
        elif rng.random() < 0.25:  # delivered in two parts
            deliveries[day + lead].append((order, rng.uniform(0.4, 0.7)))
            deliveries[day + lead + rng.randint(2, 7)].append((order, 1.0))
        else:
            deliveries[day + lead].append((order, 1.0))


# --- selling --------------------------------------------------------------------------------------

CUSTOMERS = (
    ("Northwind Traders", "orders@northwind.example", "12 Harbour Road, Portsmouth", True),
    ("Blue Fern Studio", "hello@bluefern.example", "4 Mill Lane, Leeds", True),
    ("Cobalt Labs", "purchasing@cobalt.example", "Unit 9, Science Park, Cambridge", True),
    ("Harper & Sons", "accounts@harper.example", "77 High Street, York", True),
    ("Quayside Café", "manager@quayside.example", "1 The Quay, Bristol", True),
    ("Old Mill Crafts", "oldmill@crafts.example", "The Old Mill, Hebden Bridge", False),
)
# The status each demo sales order ends in, in the order they are made (every status at least once).
SALES_ORDER_ENDS = (
    "DRAFT", "DRAFT", "CONFIRMED", "CONFIRMED", "PARTIALLY_SHIPPED", "SHIPPED", "SHIPPED", "CANCELLED",
    "CANCELLED_AFTER_SHIPPING",
)


async def _insert_sales(session: AsyncSession, rng: random.Random) -> tuple[int, int, int]:
    """Customers, and sales orders in every status made through the selling rules themselves (so their
    reservations, SHIPMENT and RETURN entries agree with the levels as the audit checks), and two free-standing
    holds; returns how many customers, orders and ledger entries were added."""
    customers = []
    for name, email, address, active in CUSTOMERS:
        customers.append(
            await selling.create_customer(session, name=name, email=email, shipping_address=address, is_active=active)
        )
    active = [c for c in customers if c.is_active]
    # Levels with plenty to sell, of active products in active warehouses, in a fixed order.
    plenty = (
        await session.execute(
            select(StockLevel.product_id, StockLevel.warehouse_id)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(StockLevel.quantity - StockLevel.reserved >= 40, Product.is_active, Warehouse.is_active)
            .order_by(StockLevel.product_id, StockLevel.warehouse_id)
        )
    ).all()
    picks = rng.sample(plenty, min(len(plenty), 3 * len(SALES_ORDER_ENDS) + 2))
    entries = 0
    for n, end in enumerate(SALES_ORDER_ENDS):
        chosen = picks[3 * n : 3 * n + rng.randint(1, 3)]
        lines: list[selling.OrderLine] = [
            {"product_id": p, "warehouse_id": w, "quantity": rng.randint(2, 8)} for p, w in chosen
        ]
        # Numbered here: the rules' next free number follows the ids, which a database may not start at 1.
        order = await selling.create_sales_order(
            session, customer_id=rng.choice(active).id, lines=lines, number=f"{selling.NUMBER_PREFIX}{n + 1:06d}"
        )
        if end == "DRAFT":
            continue
        await selling.confirm_sales_order(session, sales_order_id=order.id)
        rows = await selling.order_lines(session, order)
        if end in ("PARTIALLY_SHIPPED", "CANCELLED_AFTER_SHIPPING"):
            shipment = [(rows[0].id, rows[0].quantity_ordered // 2)]
        elif end == "SHIPPED":
            shipment = [(row.id, row.quantity_ordered) for row in rows]
        else:
            shipment = []
        if shipment:
            entries += len((await selling.ship_sales_order(session, sales_order_id=order.id, lines=shipment)).transactions)
        if end in ("CANCELLED", "CANCELLED_AFTER_SHIPPING"):
            await selling.cancel_sales_order(session, sales_order_id=order.id)
        if end == "SHIPPED":
            disposition = ReturnDisposition.RESTOCK if n % 2 else ReturnDisposition.SCRAP
            back = await selling.return_sales_order_line(
                session, line_id=rows[0].id, quantity=1, disposition=disposition, note="Arrived damaged."
            )
            entries += back.transaction is not None
    for p, w in picks[3 * len(SALES_ORDER_ENDS) :]:
        await selling.reserve_stock(session, product_id=p, warehouse_id=w, quantity=2, reference="Quote Q-1001")
    return len(customers), len(SALES_ORDER_ENDS), entries
