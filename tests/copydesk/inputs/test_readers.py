from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from copydesk.chunking import chunked
from copydesk.content.types import ContentType, load_content_type
from copydesk.hashing import sha256_json
from copydesk.inputs import readers as ingest
from copydesk.inputs.readers import IngestError, RawRow, ingest_rows, read_records
from copydesk.inputs.records import FieldError, ValidatedRecord, parse_mr, validate_record
from db.models import ItemStatus


@pytest.fixture(scope="module")
def product() -> ContentType:
    return load_content_type("product_description")


@pytest.fixture(scope="module")
def restaurant() -> ContentType:
    return load_content_type("restaurant")


def make_type(**fields: dict[str, Any]) -> ContentType:
    return ContentType.model_validate(
        {
            "name": "test",
            "title": "Test",
            "fields": fields,
            "sections": [{"name": "body", "prompt": "body.prompt.j2"}],
            "outputs": {"markdown": "output.md.j2"},
            "folder": Path("."),
            "template_sha256": "sha256:test",
        }
    )


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def valid(raw: dict[str, Any], content_type: ContentType) -> dict[str, Any]:
    result = validate_record(raw, content_type)
    assert isinstance(result, ValidatedRecord), str(result)
    return result.record


def invalid(raw: dict[str, Any], content_type: ContentType) -> str:
    result = validate_record(raw, content_type)
    assert isinstance(result, FieldError), result
    return str(result)


# --- reading -------------------------------------------------------------------------


def test_csv_with_semicolons_is_sniffed(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", 'name;price;materials\nLamp;"1,299.50";oak|steel\nMug;9;\n')
    rows = list(read_records(path))
    assert rows == [
        RawRow(str(path), 2, {"name": "Lamp", "price": "1,299.50", "materials": "oak|steel"}),
        RawRow(str(path), 3, {"name": "Mug", "price": "9", "materials": ""}),
    ]


def test_csv_quoting_is_excel_whatever_a_value_looks_like(tmp_path: Path) -> None:
    """`'the'` between spaces made the sniffer take `'` for the quote character, and
    `"Mug"` came through with its quotes; only the delimiter is sniffed now."""
    text = "name,price,brand\nLamp,5,Oak\n\"Mug\",3,it is 'the' best\n"
    rows = list(read_records(write(tmp_path / "p.csv", text)))
    assert rows[1].data == {"name": "Mug", "price": "3", "brand": "it is 'the' best"}


def test_tsv_and_ndjson_by_extension(tmp_path: Path) -> None:
    tsv = write(tmp_path / "p.tsv", "name\tprice\nLamp, large\t5\n")
    assert [r.data for r in read_records(tsv)] == [{"name": "Lamp, large", "price": "5"}]
    ndjson = write(tmp_path / "p.ndjson", '{"name": "Lamp"}\n')
    assert [r.data for r in read_records(ndjson)] == [{"name": "Lamp"}]


def test_csv_with_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "p.csv", "\ufeffName,Price\r\nCafé Crème,3\r\n".encode())
    [row] = read_records(path)
    assert row.data == {"Name": "Café Crème", "Price": "3"}
    assert row.row_number == 2


def test_csv_row_numbers_are_physical_lines(tmp_path: Path) -> None:
    text = 'name,features\nA,"one\ntwo"\n\nB,x\nC\nD,x,y\n'
    rows = list(read_records(write(tmp_path / "p.csv", text)))
    assert [(r.row_number, r.error) for r in rows] == [
        (2, None),
        (5, None),
        (6, "row has 1 cells, the header has 2"),
        (7, "row has 3 cells, the header has 2"),
    ]
    assert rows[0].data == {"name": "A", "features": "one\ntwo"}
    assert rows[3].text == "D,x,y"


def test_csv_without_a_usable_header_fails_the_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="the file is empty"):
        list(read_records(write(tmp_path / "empty.csv", "")))
    with pytest.raises(IngestError, match="line 1"):
        list(read_records(write(tmp_path / "blank.csv", ",\na,b\n")))
    with pytest.raises(IngestError, match="every column once"):
        list(read_records(write(tmp_path / "dup.csv", "name,name\na,b\n")))


def test_bytes_that_are_not_utf8_quarantine_their_line(
    tmp_path: Path, product: ContentType
) -> None:
    path = write(
        tmp_path / "latin1.csv", "name,price\nLamp,5\nCaf\xe9,3\nMug,2\n".encode("latin-1")
    )
    items = list(ingest_rows(path, product))
    assert [(i.row_number, i.status) for i in items] == [
        (2, ItemStatus.INGESTED),
        (3, ItemStatus.QUARANTINED),
        (4, ItemStatus.INGESTED),
    ]
    assert items[1].error == "latin1.csv:3: not valid UTF-8 (byte 0xE9); save the file as UTF-8"


def test_jsonl_with_a_broken_line(tmp_path: Path, product: ContentType) -> None:
    lines = ['{"name": "Lamp", "price": 5}', "", '{"name": "Mug", "price": ', "[1, 2]"]
    lines.append('{"name": "Vase", "price": "12.5"}')
    path = write(tmp_path / "p.jsonl", "\n".join(lines) + "\n")
    items = list(ingest_rows(path, product))
    assert [(i.row_number, i.status) for i in items] == [
        (1, ItemStatus.INGESTED),
        (3, ItemStatus.QUARANTINED),
        (4, ItemStatus.QUARANTINED),
        (5, ItemStatus.INGESTED),
    ]
    assert items[1].error is not None and items[1].error.startswith("p.jsonl:3: not valid JSON")
    assert items[1].input_record["text"] == '{"name": "Mug", "price":'
    assert items[2].error == "p.jsonl:4: expected a JSON object, got list"
    assert items[3].input_record["price"] == "12.50"
    assert len({item.input_sha256 for item in items}) == 4


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_json_array_is_streamed_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(ingest, "JSON_CHUNK", chunk)
    elements = [{"name": "Lamp", "price": 12345}, 7, {"name": "Mug", "tags": ["a", "b"]}]
    path = write(tmp_path / "p.json", json.dumps(elements, indent=2))
    rows = list(read_records(path))
    assert [(r.row_number, r.data, r.error) for r in rows] == [
        (1, elements[0], None),
        (2, None, "expected a JSON object, got int"),
        (3, elements[2], None),
    ]


@pytest.mark.parametrize(
    ("text", "rows", "error"),
    [
        ("[]", 0, None),
        (" [ ] ", 0, None),
        ('[{"a": 1} {"a": 2}]', 2, "expected ',' or ']' after element 1, found '{'"),
        ('[{"a": 1}, {"a": ', 2, "not valid JSON"),
        ('[{"a": 1}', 2, "expected ',' or ']' after element 1, found ''"),
    ],
)
def test_json_array_errors(tmp_path: Path, text: str, rows: int, error: str | None) -> None:
    found = list(read_records(write(tmp_path / "p.json", text)))
    assert len(found) == rows
    if error:
        assert found[0].data == {"a": 1}
        assert found[-1].error is not None and error in found[-1].error


def test_json_must_be_an_array(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="array of objects"):
        list(read_records(write(tmp_path / "p.json", '{"name": "Lamp"}')))


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        IngestError,
        match=r"unsupported format '\.xlsx'; use \.csv, \.tsv, \.json, \.jsonl, \.ndjson",
    ):
        read_records(tmp_path / "p.xlsx")
    with pytest.raises(IngestError, match="no such file"):
        read_records(tmp_path / "missing.csv")


# --- validating ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("$1,299.50", "1299.50"),
        ("€32", "32.00"),
        ("£ 18.5", "18.50"),
        (" 49 ", "49.00"),
        ("1,000,000", "1000000.00"),
        (".5", "0.50"),
        (49, "49.00"),
        (19.99, "19.99"),
        ("0", "0.00"),
    ],
)
def test_decimal_conversion(given: object, stored: str, product: ContentType) -> None:
    assert valid({"name": "Lamp", "price": given}, product)["price"] == stored


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("abc", "price: 'abc' is not a number"),
        ("49 USD", "price: '49 USD' is not a number"),
        ("49,00", "price: '49,00' is not a number (digits, a point, thousands commas"),
        ("12,34.5", "is not a number"),
        ("49.999", "price: '49.999' has more than 2 decimal places"),
        ("-5", "price: -5.00 is below the minimum 0"),
        ("USD", "is not a number"),
        (float("nan"), "price: 'nan' is not a number"),
        (True, "price: expected text, got bool"),
        ([1], "price: expected text, got list"),
    ],
)
def test_decimal_failures(given: object, reason: str, product: ContentType) -> None:
    assert reason in invalid({"name": "Lamp", "price": given}, product)


def test_integer_fields() -> None:
    kind = make_type(length={"type": "integer", "min": 100, "max": 5000, "default": 600})
    assert valid({}, kind) == {"length": 600}
    assert valid({"length": "1,200"}, kind) == {"length": 1200}
    assert valid({"length": 800.0}, kind) == {"length": 800}
    assert invalid({"length": "12.5"}, kind) == "length: '12.5' is not a whole number"
    assert invalid({"length": "many"}, kind).startswith("length: 'many' is not a number")
    assert invalid({"length": 50}, kind) == "length: 50 is below the minimum 100"
    assert invalid({"length": "9000"}, kind) == "length: 9000 is above the maximum 5000"


@pytest.mark.parametrize(
    ("given", "stored"),
    [("yes", True), ("No", False), ("TRUE", True), ("false", False), ("1", True), (0, False)],
)
def test_boolean_conversion(given: object, stored: bool) -> None:
    kind = make_type(flag={"type": "boolean"})
    assert valid({"flag": given}, kind) == {"flag": stored}


def test_boolean_failure() -> None:
    kind = make_type(flag={"type": "boolean"})
    assert invalid({"flag": "maybe"}, kind) == (
        "flag: 'maybe' is not a yes/no value (yes, no, true, false, 1, 0)"
    )
    assert valid({"flag": True}, kind) == {"flag": True}
    assert valid({"flag": ""}, kind) == {"flag": None}


def test_enums_match_case_insensitively_and_store_the_canonical_value(
    product: ContentType,
) -> None:
    assert valid({"name": "Lamp", "price": 1, "currency": " eur "}, product)["currency"] == "EUR"
    assert valid({"name": "Lamp", "price": 1}, product)["currency"] == "USD"  # the default
    assert invalid({"name": "Lamp", "price": 1, "currency": "JPY"}, product) == (
        "currency: 'JPY' is not one of USD, EUR, GBP"
    )


def test_lists_split_on_semicolons_or_bars(product: ContentType) -> None:
    record = valid(
        {"name": "Lamp", "price": 1, "materials": "cotton; linen;", "colours": "red|blue"},
        product,
    )
    assert record["materials"] == ["cotton", "linen"]
    assert record["colours"] == ["red", "blue"]
    assert record["features"] == []
    record = valid({"name": "Lamp", "price": 1, "features": [" dimmable ", 3, ""]}, product)
    assert record["features"] == ["dimmable", "3"]
    too_many = ";".join(f"f{n}" for n in range(9))
    assert invalid({"name": "L", "price": 1, "features": too_many}, product) == (
        "features: 9 items, at most 8 allowed"
    )


def test_strings_are_normalised_and_limited(product: ContentType) -> None:
    record = valid({"name": "  Cafe\u0301 \t Crème\n Cups ", "price": 1}, product)
    assert record["name"] == "Café Crème Cups"  # NFC, whitespace collapsed
    assert invalid({"name": "x" * 201, "price": 1}, product) == (
        "name: 201 characters long, at most 200 allowed"
    )
    assert "name: expected text, got dict" in invalid({"name": {"a": 1}, "price": 1}, product)


def test_text_fields_keep_paragraphs() -> None:
    kind = make_type(notes={"type": "text"})
    notes = valid({"notes": " One  line.\r\n\r\n\r\n\r\nNext   para. \n"}, kind)["notes"]
    assert notes == "One line.\n\nNext para."


def test_required_fields_defaults_and_unknown_columns(product: ContentType) -> None:
    result = validate_record({"NAME": "Lamp", "Price": "5", "sku": "L-1", "notes": ""}, product)
    assert isinstance(result, ValidatedRecord)
    assert result.ignored == ("sku", "notes")
    assert list(result.record) == list(product.fields)  # every field, in manifest order
    assert result.record["brand"] is None and result.record["currency"] == "USD"
    assert invalid({"price": "5"}, product) == "name: required but missing"
    assert invalid({"name": "  ", "price": "x", "currency": "JPY"}, product) == (
        "name: required but missing; price: 'x' is not a number (digits, a point, thousands "
        "commas, a leading $ € £); currency: 'JPY' is not one of USD, EUR, GBP"
    )
    assert invalid({"name": "a", "Name": "b", "price": 1}, product) == (
        "name: given twice (again as 'Name')"
    )


# --- E2E meaning representations ------------------------------------------------------


def test_parse_mr() -> None:
    assert parse_mr("name[The Eagle], eatType[coffee shop], customer rating[5 out of 5]") == {
        "name": "The Eagle",
        "eatType": "coffee shop",
        "customer rating": "5 out of 5",
    }
    with pytest.raises(ValueError, match="as attribute\\[value\\]"):
        parse_mr("name[The Eagle] eatType[pub]")
    with pytest.raises(ValueError, match="'name' appears twice"):
        parse_mr("name[A], name[B]")


def test_restaurant_sample_rows(restaurant: ContentType) -> None:
    path = restaurant.folder / "samples" / "restaurants.csv"
    items = list(ingest_rows(path, restaurant))
    assert [item.row_number for item in items] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert {item.status for item in items} == {ItemStatus.INGESTED}
    assert items[0].input_record == {
        "name": "Alimentum",
        "eatType": None,
        "food": None,
        "priceRange": None,
        "customer_rating": None,
        "area": "city centre",
        "familyFriendly": False,
        "near": None,
    }
    # Eight distinct MRs of the dev set: eight records, eight hashes.
    assert len({item.input_sha256 for item in items}) == 8
    assert items[1].input_record["customer_rating"] == "5 out of 5"
    assert items[1].input_record["familyFriendly"] is True


@pytest.mark.parametrize(
    ("mr", "expected"),
    [  # rows 372, 730 and 342 of the E2E dev set
        (
            "name[Browns Cambridge], eatType[coffee shop], food[Chinese], customer rating[3 out"
            " of 5], area[riverside], familyFriendly[yes], near[Crowne Plaza Hotel]",
            {"customer_rating": "3 out of 5", "familyFriendly": True, "area": "riverside"},
        ),
        (
            "name[Cocum], eatType[coffee shop], food[Chinese], priceRange[£20-25], "
            "customer rating[high], familyFriendly[no]",
            {"priceRange": "£20-25", "customer_rating": "high", "eatType": "coffee shop"},
        ),
        (
            "name[Bibimbap House], area[city centre], near[Café Sicilia]",
            {"name": "Bibimbap House", "near": "Café Sicilia", "familyFriendly": None},
        ),
    ],
)
def test_e2e_rows(mr: str, expected: dict[str, Any], restaurant: ContentType) -> None:
    result = validate_record({"MR": mr, "ref": "a human reference"}, restaurant)
    assert isinstance(result, ValidatedRecord)
    assert result.record.items() >= expected.items()
    assert result.ignored == ("ref",)


def test_e2e_errors(restaurant: ContentType) -> None:
    assert invalid({"mr": "name[X], stars[5]"}, restaurant) == (
        "mr: unknown attribute 'stars' (known: name, eatType, food, priceRange, "
        "customer_rating, area, familyFriendly, near)"
    )
    assert invalid({"ref": "text"}, restaurant).startswith("mr: missing")
    assert invalid({"mr": "eatType[pub]"}, restaurant) == "name: required but missing"
    assert invalid({"mr": "name[X], eatType[bar]"}, restaurant) == (
        "eatType: 'bar' is not one of coffee shop, pub, restaurant"
    )


# --- items ---------------------------------------------------------------------------


def test_items_carry_file_row_field_and_hashes(tmp_path: Path, product: ContentType) -> None:
    text = "name,price\nLamp,$5\nMug,abc\nVase,abc\nLamp,5.00\n"
    items = list(ingest_rows(write(tmp_path / "shop.csv", text), product))
    good, bad, other, again = items
    assert good.status == ItemStatus.INGESTED and good.error is None
    assert good.source == str(tmp_path / "shop.csv")
    assert good.input_sha256 == sha256_json(good.input_record)
    assert again.input_sha256 == good.input_sha256  # same record: deduped by the database
    assert bad.status == ItemStatus.QUARANTINED
    assert (
        bad.error
        == "shop.csv:3: price: 'abc' is not a number (digits, a point, thousands commas, a leading $ € £)"
    )
    assert bad.error_field == "price"
    assert bad.input_record == {"name": "Mug", "price": "abc"}
    assert bad.input_sha256 == sha256_json(bad.input_record)
    assert other.input_sha256 != bad.input_sha256


def test_unreadable_rows_never_collide(tmp_path: Path, product: ContentType) -> None:
    items = list(ingest_rows(write(tmp_path / "p.jsonl", "oops\noops\n"), product))
    assert [item.row_number for item in items] == [1, 2]
    assert items[0].input_sha256 != items[1].input_sha256
    assert items[0].error_field is None


def test_chunked() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError):
        list(chunked(range(3), 0))


@pytest.mark.slow
def test_a_large_csv_streams_in_flat_memory(tmp_path: Path) -> None:
    """A 12 MB CSV through the whole generator pipeline: peak traced memory stays tiny.

    50k rows, not 200k: tracemalloc makes every allocation ~7x dearer and 200k rows took
    ~27 s on a 2-core machine. The 5 MB ceiling is as strict per row (100 bytes kept per
    row fails it) and is well under the file's size, so reading it whole fails too.
    """
    kind = make_type(name={"type": "string", "required": True}, price={"type": "decimal"})
    rows, note = 50_000, "an ignored column " * 12
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("name,price,note\n")
        for n in range(rows):
            price = "n/a" if n % 1000 == 0 else f"${n % 500}.99"
            handle.write(f"Product number {n},{price},{note}{n}\n")
    tracemalloc.start()
    try:
        counts = {"ingested": 0, "quarantined": 0}
        for chunk in chunked(ingest_rows(path, kind), 500):
            for item in chunk:
                counts[item.status] += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts == {"ingested": rows - rows // 1000, "quarantined": rows // 1000}
    assert path.stat().st_size > 12_000_000
    assert peak < 5_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
