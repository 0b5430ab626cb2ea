"""A deterministic synthetic product catalogue for benchmarks (no randomness, no downloads)."""

from __future__ import annotations

from itertools import product

NAMES = [
    "Trail Runner",
    "Desk Lamp",
    "Water Bottle",
    "Wool Scarf",
    "Office Chair",
    "Backpack",
    "Espresso Grinder",
    "Rain Jacket",
]
BRANDS = ["Lumo", "Summit", "Hydro", "Sitwell"]
MATERIALS = ["recycled polyester", "oak", "stainless steel", "merino wool"]
COLOURS = ["forest green", "slate grey", "ochre", "navy"]


def products(count: int) -> list[dict[str, str]]:
    """`count` distinct products, each with five facts a description should carry."""
    rows = []
    for i, (name, brand, material, colour) in enumerate(product(NAMES, BRANDS, MATERIALS, COLOURS)):
        if i == count:
            break
        rows.append(
            {
                "name": f"{name} {chr(65 + i % 26)}{i}",
                "brand": brand,
                "material": material,
                "colour": colour,
                "price": f"{19 + (i * 7) % 180}.00",
            }
        )
    if len(rows) < count:
        raise ValueError(f"the catalogue has only {len(rows)} products")
    return rows


def prompt(record: dict[str, str]) -> str:
    return (
        "Write a short product description for an online shop. "
        f"Product: {record['name']}. Brand: {record['brand']}. Material: {record['material']}. "
        f"Colour: {record['colour']}. Price: ${record['price']}."
    )


def facts_carried(record: dict[str, str], text: str) -> float:
    """Share of the record's five facts that the text mentions (a crude quality proxy)."""
    lowered = text.lower()
    price = record["price"].removesuffix(".00")
    found = [
        record["name"].lower() in lowered,
        record["brand"].lower() in lowered,
        record["material"].split()[-1].lower() in lowered,
        record["colour"].split()[-1].lower() in lowered,
        price in text,
    ]
    return sum(found) / len(found)


SHOP_NOUNS = [
    "Trail Runner",
    "Desk Lamp",
    "Water Bottle",
    "Travel Mug",
    "Office Chair",
    "Backpack",
    "Espresso Grinder",
    "Rain Jacket",
    "Throw Blanket",
    "Cutting Board",
]
SHOP_BRANDS = ["Lumo", "Summit", "Hydro", "Sitwell", "Hearth & Loom", "Trailhead"]
SHOP_CATEGORIES = ["Outdoor", "Home", "Office", "Kitchen", "Travel"]
SHOP_MATERIALS = ["recycled polyester", "oak", "stainless steel", "merino wool", "linen", "cotton"]
SHOP_COLOURS = ["green", "grey", "navy", "black", "white", "red", "teal"]
SHOP_FEATURES = [
    "machine washable",
    "leak-proof lid",
    "fits most car cup holders",
    "adjustable height",
    "packs flat for travel",
    "two-year warranty",
]
SHOP_COLUMNS = [
    "name",
    "brand",
    "category",
    "price",
    "currency",
    "materials",
    "colours",
    "dimensions",
    "features",
]


def shop_product(i: int) -> dict[str, str]:
    """Product `i` of an endless catalogue in the columns `product_description` reads
    (lists joined with `;`): distinct for every `i`, every fact one the checks know."""
    pick = [i % 10, i // 10 % 6, i // 60 % 5, i // 300 % 6, i // 1800 % 7]
    noun, brand, category, material, colour = (
        SHOP_NOUNS[pick[0]],
        SHOP_BRANDS[pick[1]],
        SHOP_CATEGORIES[pick[2]],
        SHOP_MATERIALS[pick[3]],
        SHOP_COLOURS[pick[4]],
    )
    return {
        "name": f"{noun} {i:07d}",
        "brand": brand,
        "category": category,
        "price": f"{9 + (i * 7) % 490}.{(i * 13) % 100:02d}",
        "currency": ("USD", "EUR", "GBP")[i % 3],
        "materials": material,
        "colours": f"{colour}; {SHOP_COLOURS[(pick[4] + 3) % 7]}",
        "dimensions": f"{20 + i % 80} x {10 + i % 40} cm",
        "features": f"{SHOP_FEATURES[i % 6]}; {SHOP_FEATURES[(i + 2) % 6]}",
    }
