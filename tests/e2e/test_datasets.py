"""Uploading CSV datasets (GraphQL multipart request) and reading them back."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings
from tests.support.api import Api

DATASETS = """
query($first: Int, $after: String) {
  datasets(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name } }
  }
}
"""


def stored_files(settings: Settings, account_id: str) -> list[Path]:
    folder = settings.artifacts_dir / account_id / "datasets"
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_upload_profiles_the_columns(api: Api, settings: Settings) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller, name="Vendas janeiro")
    assert dataset["name"] == "Vendas janeiro"
    assert dataset["rowCount"] == 5
    columns = {c["name"]: c for c in dataset["columns"]}
    assert list(columns) == [
        "date",
        "listing_id",
        "category",
        "price",
        "promo",
        "units_sold",
        "revenue",
    ]
    assert columns["date"]["dtype"] == "datetime"
    assert columns["listing_id"]["dtype"] == "string"
    assert columns["price"] == {
        "name": "price",
        "dtype": "float",
        "missingCount": 1,
        "uniqueCount": 4,
    }
    assert columns["promo"]["dtype"] == "boolean"
    assert columns["units_sold"]["dtype"] == "integer"
    assert columns["category"]["uniqueCount"] == 2
    # The file is kept on disk as uploaded, not in the database.
    files = stored_files(settings, seller.account_id)
    assert [f.name for f in files] == [f"{dataset['id']}.csv"]
    assert dataset["sizeBytes"] == files[0].stat().st_size


async def test_datasets_page_newest_first_with_cursors(api: Api) -> None:
    seller = await api.sign_up()
    for number in range(5):
        await api.dataset(seller, name=f"d{number}")
    first = (await api.ok(DATASETS, {"first": 2}, seller.token))["datasets"]
    assert first["totalCount"] == 5
    assert [e["node"]["name"] for e in first["edges"]] == ["d4", "d3"]
    assert first["pageInfo"]["hasNextPage"] is True
    names = [e["node"]["name"] for e in first["edges"]]
    after = first["pageInfo"]["endCursor"]
    while after:
        page = (await api.ok(DATASETS, {"first": 2, "after": after}, seller.token))["datasets"]
        names += [e["node"]["name"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert names == ["d4", "d3", "d2", "d1", "d0"]


async def test_a_dataset_is_read_by_id(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    found = await api.ok(
        "query($id: ID!) { dataset(id: $id) { id name rowCount } }",
        {"id": dataset["id"]},
        seller.token,
    )
    assert found["dataset"] == {"id": dataset["id"], "name": "Sales", "rowCount": 5}


@pytest.mark.parametrize(
    ("content", "message_part"),
    [
        (b"", "empty"),
        (b"a,b,c\n", "no data rows"),
        (b"price,price,units\n1,2,3\n", "repeated: price"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"name,city\n\xff\xfe\xfa,x\n", "UTF-8"),
        (b"a,b\n1,2,3,4\n", "could not be read as CSV"),
        (b",b\n1,2\n", "needs a name"),
    ],
    ids=["empty", "header-only", "duplicate-columns", "binary", "not-utf8", "ragged", "blank-name"],
)
async def test_unusable_csv_is_refused_and_nothing_is_kept(
    api: Api, settings: Settings, content: bytes, message_part: str
) -> None:
    seller = await api.sign_up()
    payload = (await api.upload(seller, content)).json()
    error = payload["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "file"}
    assert message_part in error["message"]
    assert stored_files(settings, seller.account_id) == []
    listed = await api.ok(DATASETS, token=seller.token)
    assert listed["datasets"]["totalCount"] == 0


async def test_a_file_over_the_size_limit_is_refused(api: Api, settings: Settings) -> None:
    seller = await api.sign_up()
    row = b"1234567890,abcdefghij,0.5\n"
    content = b"a,b,c\n" + row * (settings.max_upload_bytes // len(row) + 10)
    error = (await api.upload(seller, content)).json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "larger than the 1 MiB limit" in error["message"]
    assert stored_files(settings, seller.account_id) == []


async def test_a_bad_name_is_refused_before_the_file_is_stored(
    api: Api, settings: Settings
) -> None:
    seller = await api.sign_up()
    error = (await api.upload(seller, name="  ")).json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "name"}
    assert stored_files(settings, seller.account_id) == []


async def test_a_viewer_cannot_upload(api: Api, settings: Settings) -> None:
    owner = await api.sign_up()
    viewer = await api.add_user(owner, "VIEWER")
    error = (await api.upload(viewer)).json()["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert stored_files(settings, owner.account_id) == []


async def test_a_file_variable_that_is_not_a_file_part_is_bad_input(api: Api) -> None:
    seller = await api.sign_up()
    error = await api.fail(
        'mutation($f: Upload!) { uploadDataset(input: {name: "x", file: $f}) { dataset { id } } }',
        {"f": "just a string"},
        seller.token,
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_delete_a_dataset_removes_its_file(api: Api, settings: Settings) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    deleted = await api.ok(
        "mutation($id: ID!) { deleteDataset(input: {id: $id}) { id } }",
        {"id": dataset["id"]},
        seller.token,
    )
    assert deleted["deleteDataset"]["id"] == dataset["id"]
    assert stored_files(settings, seller.account_id) == []


async def test_a_dataset_in_use_cannot_be_deleted(api: Api, settings: Settings) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    await api.experiment(seller, dataset["id"])
    error = await api.fail(
        "mutation($id: ID!) { deleteDataset(input: {id: $id}) { id } }",
        {"id": dataset["id"]},
        seller.token,
    )
    assert error["extensions"]["code"] == "CONFLICT"
    assert len(stored_files(settings, seller.account_id)) == 1
