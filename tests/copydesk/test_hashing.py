from copydesk.hashing import canonical_json, sha256_json, sha256_text


def test_record_hash_ignores_key_order_and_formatting() -> None:
    a = {"name": "Lampe", "price": 49.0, "colours": ["red", "blue"]}
    b = {"colours": ["red", "blue"], "price": 49.0, "name": "Lampe"}
    assert sha256_json(a) == sha256_json(b)
    assert sha256_json(a) != sha256_json({**a, "colours": ["blue", "red"]})


def test_hashes_name_their_algorithm() -> None:
    digest = sha256_text("copy")
    assert digest.startswith("sha256:") and len(digest) == 71


def test_canonical_json_keeps_unicode() -> None:
    assert canonical_json({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'
