"""graphql/schema.graphql is the exported SDL, and it keeps the contract's names."""

from __future__ import annotations

import re
from pathlib import Path

from server.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"


def test_the_schema_file_matches_the_code() -> None:
    exported = build_schema().as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, (
        "graphql/schema.graphql drifted from the code: run `mlproject export-schema`"
    )


def test_the_contract_operations_exist() -> None:
    sdl = SCHEMA_FILE.read_text()
    for query in [
        "me",
        "datasets",
        "dataset",
        "experiments",
        "experiment",
        "runs",
        "run",
        "models",
        "model",
        "campaigns",
        "campaign",
        "discounts",
        "discount",
    ]:
        assert re.search(rf"^  {query}(\(|:)", sdl, re.M), query
    for mutation in [
        "signUp",
        "login",
        "refreshToken",
        "addUser",
        "uploadDataset",
        "createExperiment",
        "updateExperiment",
        "deleteExperiment",
        "createCampaign",
        "scheduleDiscount",
        "cancelDiscount",
    ]:
        assert re.search(rf"^  {mutation}\(input: \w+Input!\): \w+Payload!", sdl, re.M), mutation
    for type_name in [
        "ExperimentFilter",
        "RunFilter",
        "ModelFilter",
        "CampaignFilter",
        "DiscountFilter",
        "DatasetConnection",
        "PageInfo",
    ]:
        assert re.search(rf"^(input|type) {type_name} ", sdl, re.M), type_name


def test_graphql_folder_holds_no_python() -> None:
    assert list(SCHEMA_FILE.parent.rglob("*.py")) == []
