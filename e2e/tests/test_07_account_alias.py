"""SetAccountAlias / GetAccountAlias / ClearAccountAlias, in fresh accounts."""

from rampart_e2e.errors import expect_error
from rampart_e2e.state import unchanged


def test_alias_set_get_clear(new_account, clients_for, unique):
    first_alias = unique("alias")
    acct = new_account(first_alias)
    c = clients_for(acct)
    # `rampart account create --alias NAME` sets the alias.
    assert c.tea_v3.call("GetAccountAlias")["AccountAlias"] == first_alias

    new_alias = unique("renamed")
    c.classic.call("SetAccountAlias", {"AccountAlias": new_alias})
    assert c.popcore_get.call("GetAccountAlias")["AccountAlias"] == new_alias
    assert c.tea_v2.call("GetAccountAlias")["AccountAlias"] == new_alias

    c.popcore_post.call("ClearAccountAlias")
    cleared = c.tea_v3.call("GetAccountAlias")["AccountAlias"]
    # Unconfirmed what Alibaba shows for an account without alias: empty, or
    # the account id (its default "alias"). Either way the old one is gone.
    assert cleared in ("", acct.account_id), cleared

    # An alias freed by Clear can be taken again.
    c.tea_v3.call("SetAccountAlias", {"AccountAlias": new_alias})
    assert c.tea_v3.call("GetAccountAlias")["AccountAlias"] == new_alias


def test_alias_errors(new_account, clients_for, unique):
    a = new_account()
    b_alias = unique("taken")
    new_account(b_alias)
    c = clients_for(a)
    before = c.tea_v3.call("GetAccountAlias")["AccountAlias"]
    alias_now = lambda: c.tea_v3.call("GetAccountAlias")["AccountAlias"]  # noqa: E731
    with unchanged(c.tea_v3, alias_now):
        # Another account's alias: aliases identify accounts (console sign-in,
        # "switch role"), so they are unique.
        expect_error(c.tea_v3.call, "SetAccountAlias", {"AccountAlias": b_alias},
                     code="EntityAlreadyExists.AccountAlias", status=409)
        # RAM's error page lists exactly two codes for a bad alias: `.Length`
        # (3-32 characters) and `.Format` for everything else, characters and
        # hyphen placement alike (no `.InvalidChars`, unlike the name rules).
        too_short_or_long = ("ab", "x" * 33)
        malformed = ("-starts-with-hyphen", "ends-with-hyphen-", "double--hyphen",
                     "has space", "has.dot", "has_underscore", "Upper")
        for bad in too_short_or_long:
            expect_error(c.classic.call, "SetAccountAlias", {"AccountAlias": bad},
                         code="InvalidParameter.AccountAlias.Length", status=400)
        for bad in malformed:
            expect_error(c.classic.call, "SetAccountAlias", {"AccountAlias": bad},
                         code="InvalidParameter.AccountAlias.Format", status=400)
    assert alias_now() == before
