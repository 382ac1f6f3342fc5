"""Sign-up, login, token refresh, roles."""

from __future__ import annotations

import pytest

from tests.support.api import Api, operation


async def test_sign_up_creates_an_owner_who_can_ask_who_they_are(api: Api) -> None:
    seller = await api.sign_up("Loja do João")
    me = (await api.op("Me", token=seller.token))["me"]
    assert me["email"] == seller.email
    assert me["role"] == "OWNER"
    assert me["account"] == {"id": seller.account_id, "name": "Loja do João"}


async def test_login_returns_tokens_that_work(api: Api) -> None:
    seller = await api.sign_up()
    login = (
        await api.op(
            "Login", {"input": {"email": seller.email.upper(), "password": seller.password}}
        )
    )["login"]
    me = (await api.op("Me", token=login["accessToken"]))["me"]
    assert me["id"] == seller.user_id


async def test_login_with_a_wrong_password_is_unauthenticated(api: Api) -> None:
    seller = await api.sign_up()
    error = await api.fail(
        operation("Login"), {"input": {"email": seller.email, "password": "wrong password"}}
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "Wrong e-mail or password."


async def test_login_of_an_unknown_user_says_the_same_as_a_wrong_password(api: Api) -> None:
    error = await api.fail(
        operation("Login"), {"input": {"email": "nobody@example.com", "password": "whatever123"}}
    )
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert error["message"] == "Wrong e-mail or password."


async def test_refresh_token_gives_a_new_working_pair(api: Api) -> None:
    seller = await api.sign_up()
    pair = (await api.op("RefreshToken", {"input": {"refreshToken": seller.refresh_token}}))[
        "refreshToken"
    ]
    me = (await api.op("Me", token=pair["accessToken"]))["me"]
    assert me["id"] == seller.user_id


async def test_an_access_token_is_not_a_refresh_token(api: Api) -> None:
    seller = await api.sign_up()
    error = await api.fail(operation("RefreshToken"), {"input": {"refreshToken": seller.token}})
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_refresh_token_is_not_an_access_token(api: Api) -> None:
    seller = await api.sign_up()
    error = await api.fail(operation("Me"), token=seller.refresh_token)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_signing_up_twice_with_one_email_opens_a_second_account(api: Api) -> None:
    seller = await api.sign_up()
    variables = {"accountName": "Other", "email": seller.email, "password": "long enough pw"}
    second = (await api.op("SignUp", {"input": variables}))["signUp"]
    assert second["user"]["account"]["id"] != seller.account_id


@pytest.mark.parametrize(
    ("field", "values", "message_part"),
    [
        ("email", {"email": "not-an-email"}, "valid e-mail"),
        ("password", {"password": "short"}, "at least 8"),
        ("accountName", {"accountName": "   "}, "must not be empty"),
        ("accountName", {"accountName": "x" * 121}, "at most 120"),
    ],
)
async def test_sign_up_refuses_bad_input_naming_the_field(
    api: Api, field: str, values: dict, message_part: str
) -> None:
    good = {"accountName": "Loja", "email": "fine@example.com", "password": "long enough pw"}
    error = await api.fail(operation("SignUp"), {"input": {**good, **values}})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert message_part in error["message"]


@pytest.mark.parametrize(
    ("authorization", "message_part"),
    [
        (None, "Sign in first"),
        ("Token abc", "Bearer"),
        ("Bearer not.a.jwt", "not valid"),
    ],
)
async def test_queries_need_a_valid_bearer_token(
    api: Api, authorization: str | None, message_part: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await api.post(operation("Me"), headers=headers)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message_part in error["message"]


async def test_a_token_signed_with_another_key_is_refused(api: Api) -> None:
    import jwt

    seller = await api.sign_up()
    claims = jwt.decode(seller.token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-of-sufficient-length-000", algorithm="HS256")
    error = await api.fail(operation("Me"), token=forged)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_expired_token_is_refused_with_a_clear_message(api: Api) -> None:
    import jwt

    from tests.conftest import TEST_SECRET

    seller = await api.sign_up()
    claims = jwt.decode(seller.token, options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 3600
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    error = await api.fail(operation("Me"), token=expired)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in error["message"]


async def test_owner_adds_users_with_roles(api: Api) -> None:
    owner = await api.sign_up()
    analyst = await api.add_user(owner, "ANALYST")
    me = (await api.op("Me", token=analyst.token))["me"]
    assert me["role"] == "ANALYST"
    assert me["account"]["id"] == owner.account_id


@pytest.mark.parametrize("role", ["ANALYST", "VIEWER"])
async def test_only_owners_manage_users(api: Api, role: str) -> None:
    owner = await api.sign_up()
    member = await api.add_user(owner, role)
    error = await api.fail(
        operation("AddUser"),
        {"input": {"email": "x@example.com", "password": "long enough pw", "role": "OWNER"}},
        member.token,
    )
    assert error["extensions"]["code"] == "FORBIDDEN"
