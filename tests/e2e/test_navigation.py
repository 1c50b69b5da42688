"""Every page of the navigation is in the menu of exactly the roles that may open it, opens
for them, and is refused (a Chinese 403 page) to the others."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import USERS, Api
from tests.e2e.scenario import NOW, build_cases
from tests.e2e.test_pages_http import sign_in
from xiuhua.web.pages import NAV

ONE_PER_ROLE = list({role: login for login, (role, _, _) in reversed(USERS.items())}.values())
MENU = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.DOTALL)


@pytest.mark.parametrize("login", ONE_PER_ROLE)
def test_each_role_sees_and_opens_exactly_its_pages(api: Api, login: str) -> None:
    api.clock.now = NOW
    build_cases(api.engine)
    role = USERS[login][0]
    home = sign_in(api.client, login)
    menu = MENU.search(home)
    assert menu, "the page has no main navigation"
    for item in NAV:
        allowed = item.roles is None or role in item.roles
        assert (f'href="{item.href}"' in menu.group(1)) is allowed, (login, item.href)
        response = api.client.get(item.href)
        if allowed:
            assert response.status_code == 200, (login, item.href, response.text[:300])
        else:
            assert response.status_code == 403, (login, item.href)
            assert "不对" in response.text and "开放" in response.text
