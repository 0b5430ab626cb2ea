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
