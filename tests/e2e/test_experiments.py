"""Creating, changing, deleting, filtering and paging experiments."""

from __future__ import annotations

import pytest

from tests.support.api import Api, operation

CLASSES_CSV = b"age,plan,churned\n30,basic,yes\n41,pro,no\n25,basic,yes\n52,pro,no\n"


async def test_create_experiment_with_default_metric_and_dataset(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(
        seller, dataset["id"], name="Demand", description="Units per day"
    )
    assert experiment["name"] == "Demand"
    assert experiment["problemType"] == "REGRESSION"
    assert experiment["target"] == "units_sold"
    assert experiment["metric"] == "rmse"
    assert experiment["dataset"] == {"id": dataset["id"], "name": "Sales"}
    fetched = await api.op("Experiment", {"id": experiment["id"]}, seller.token)
    assert fetched["experiment"]["description"] == "Units per day"


async def test_clustering_needs_no_target_and_scores_by_silhouette(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"], problemType="CLUSTERING", target=None)
    assert experiment["target"] is None
    assert experiment["metric"] == "silhouette"


@pytest.mark.parametrize(
    ("problem_type", "target", "default"),
    [("CLASSIFICATION", "promo", "roc_auc"), ("FORECASTING", "units_sold", "mae")],
)
async def test_the_default_metric_is_the_engines(
    api: Api, problem_type: str, target: str, default: str
) -> None:
    """One default per problem type, the same as the Python engine's (README, "Metrics")."""
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(
        seller, dataset["id"], problemType=problem_type, target=target
    )
    assert experiment["metric"] == default


async def test_classification_on_a_text_target(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller, CLASSES_CSV)
    experiment = await api.experiment(
        seller, dataset["id"], problemType="CLASSIFICATION", target="churned", metric="ROC_AUC"
    )
    assert experiment["metric"] == "roc_auc"


@pytest.mark.parametrize(
    ("fields", "field", "message_part"),
    [
        ({"target": "nope"}, "target", "no column 'nope'"),
        ({"target": "category"}, "target", "must be numeric"),
        ({"target": None}, "target", "needs a target"),
        ({"problemType": "CLUSTERING", "target": "price"}, "target", "without a target"),
        ({"problemType": "CLASSIFICATION", "target": "revenue"}, "target", "continuous"),
        ({"metric": "accuracy"}, "metric", "not a regression metric"),
        ({"name": ""}, "name", "must not be empty"),
        ({"datasetId": "00000000-0000-0000-0000-000000000000"}, "datasetId", "not found"),
    ],
)
async def test_create_experiment_refuses_bad_input(
    api: Api, fields: dict, field: str, message_part: str | None
) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    values = {
        "name": "x",
        "datasetId": dataset["id"],
        "problemType": "REGRESSION",
        "target": "units_sold",
        **fields,
    }
    error = await api.fail(operation("CreateExperiment"), {"input": values}, seller.token)
    assert error["extensions"]["field"] == field
    assert error["extensions"]["code"] in {"BAD_USER_INPUT", "NOT_FOUND"}
    if message_part:
        assert message_part in error["message"]
    listed = await api.op("Experiments", token=seller.token)
    assert listed["experiments"]["totalCount"] == 0


async def test_a_classification_target_needs_two_classes(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller, b"x,label\n1,a\n2,a\n3,a\n")
    error = await api.fail(
        operation("CreateExperiment"),
        {
            "input": {
                "name": "c",
                "datasetId": dataset["id"],
                "problemType": "CLASSIFICATION",
                "target": "label",
            }
        },
        seller.token,
    )
    assert "at least two classes" in error["message"]


async def test_forecasting_needs_a_date_column(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller, b"store,units\n1,5\n2,7\n")
    error = await api.fail(
        operation("CreateExperiment"),
        {
            "input": {
                "name": "f",
                "datasetId": dataset["id"],
                "problemType": "FORECASTING",
                "target": "units",
            }
        },
        seller.token,
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "datasetId"}


async def test_experiment_names_are_unique_per_account(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    await api.experiment(seller, dataset["id"], name="Pricing")
    error = await api.fail(
        operation("CreateExperiment"),
        {
            "input": {
                "name": "Pricing",
                "datasetId": dataset["id"],
                "problemType": "REGRESSION",
                "target": "price",
            }
        },
        seller.token,
    )
    assert error["extensions"] == {"code": "CONFLICT", "field": "name"}
    other = await api.sign_up()
    other_dataset = await api.dataset(other)
    assert (await api.experiment(other, other_dataset["id"], name="Pricing"))["name"] == "Pricing"


async def test_update_changes_only_what_is_given(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"], name="Old", description="keep me")
    updated = await api.op(
        "UpdateExperiment",
        {"input": {"id": experiment["id"], "name": "New", "metric": "mae"}},
        seller.token,
    )
    assert updated["updateExperiment"]["experiment"]["name"] == "New"
    assert updated["updateExperiment"]["experiment"]["metric"] == "mae"
    assert updated["updateExperiment"]["experiment"]["description"] == "keep me"
    cleared = await api.op(
        "UpdateExperiment", {"input": {"id": experiment["id"], "description": None}}, seller.token
    )
    assert cleared["updateExperiment"]["experiment"]["description"] is None


async def test_a_failed_update_changes_nothing(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"], name="Stays")
    error = await api.fail(
        operation("UpdateExperiment"),
        {"input": {"id": experiment["id"], "name": "Renamed", "metric": "f1_macro"}},
        seller.token,
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "metric"}
    fetched = await api.op("Experiment", {"id": experiment["id"]}, seller.token)
    assert fetched["experiment"]["name"] == "Stays"
    assert fetched["experiment"]["metric"] == "rmse"


async def test_delete_experiment(api: Api) -> None:
    seller = await api.sign_up()
    dataset = await api.dataset(seller)
    experiment = await api.experiment(seller, dataset["id"])
    deleted = await api.op("DeleteExperiment", {"input": {"id": experiment["id"]}}, seller.token)
    assert deleted["deleteExperiment"]["id"] == experiment["id"]
    fetched = await api.op("Experiment", {"id": experiment["id"]}, seller.token)
    assert fetched["experiment"] is None
    again = await api.fail(
        operation("DeleteExperiment"), {"input": {"id": experiment["id"]}}, seller.token
    )
    assert again["extensions"]["code"] == "NOT_FOUND"


async def test_experiments_filter_and_page(api: Api) -> None:
    seller = await api.sign_up()
    sales = await api.dataset(seller)
    churn = await api.dataset(seller, CLASSES_CSV, name="Churn")
    for number in range(3):
        await api.experiment(seller, sales["id"], name=f"Price model {number}")
    await api.experiment(
        seller, churn["id"], name="Churn model", problemType="CLASSIFICATION", target="churned"
    )
    by_type = await api.op(
        "Experiments", {"filter": {"problemType": "CLASSIFICATION"}}, seller.token
    )
    assert [e["node"]["name"] for e in by_type["experiments"]["edges"]] == ["Churn model"]
    by_dataset = await api.op(
        "Experiments", {"filter": {"datasetId": sales["id"]}, "first": 2}, seller.token
    )
    page = by_dataset["experiments"]
    assert page["totalCount"] == 3
    assert [e["node"]["name"] for e in page["edges"]] == ["Price model 2", "Price model 1"]
    rest = await api.op(
        "Experiments",
        {"filter": {"datasetId": sales["id"]}, "first": 2, "after": page["pageInfo"]["endCursor"]},
        seller.token,
    )
    assert [e["node"]["name"] for e in rest["experiments"]["edges"]] == ["Price model 0"]
    assert rest["experiments"]["pageInfo"]["hasNextPage"] is False
    by_name = await api.op("Experiments", {"filter": {"nameContains": "CHURN"}}, seller.token)
    assert by_name["experiments"]["totalCount"] == 1
    node = by_name["experiments"]["edges"][0]["node"]
    assert node["runs"] == {"totalCount": 0, "edges": []}
    assert node["productionModel"] is None


@pytest.mark.parametrize(("first", "after"), [(-1, None), (101, None), (5, "garbage!")])
async def test_bad_paging_arguments_are_bad_input(api: Api, first: int, after: str | None) -> None:
    seller = await api.sign_up()
    error = await api.fail(operation("Experiments"), {"first": first, "after": after}, seller.token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] in {"first", "after"}


async def test_viewers_read_but_do_not_write(api: Api) -> None:
    owner = await api.sign_up()
    dataset = await api.dataset(owner)
    experiment = await api.experiment(owner, dataset["id"])
    viewer = await api.add_user(owner, "VIEWER")
    listed = await api.op("Experiments", token=viewer.token)
    assert listed["experiments"]["totalCount"] == 1
    for name, variables in [
        (
            "CreateExperiment",
            {
                "input": {
                    "name": "v",
                    "datasetId": dataset["id"],
                    "problemType": "REGRESSION",
                    "target": "price",
                }
            },
        ),
        ("UpdateExperiment", {"input": {"id": experiment["id"], "name": "v"}}),
        ("DeleteExperiment", {"input": {"id": experiment["id"]}}),
    ]:
        error = await api.fail(operation(name), variables, viewer.token)
        assert error["extensions"]["code"] == "FORBIDDEN", name


async def test_analysts_create_experiments(api: Api) -> None:
    owner = await api.sign_up()
    dataset = await api.dataset(owner)
    analyst = await api.add_user(owner, "ANALYST")
    experiment = await api.experiment(analyst, dataset["id"], name="By analyst")
    assert experiment["name"] == "By analyst"
