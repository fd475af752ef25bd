"""What a member may do to a key: the one rule as a table (role × key state × creator), and the
page's batch read agreeing with the services' check on real keys."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from keys.models import KeyPermission, VirtualKey
from keys.permissions import actor_key_rights, key_rights, member_key_rights
from keys.services import key_revoke
from orgs.roles import ROLE_CAPABILITIES, Role
from prism_site.actor import Actor
from tests.keys.conftest import make_key

NOW = timezone.now()
ME, CREATOR = SimpleNamespace(pk=1), SimpleNamespace(pk=2)
OWN = frozenset(KeyPermission.values)  # what creating a key grants its creator


def capabilities(role: str) -> frozenset[str]:
    return frozenset(capability.value for capability in ROLE_CAPABILITIES[Role(role)])


def a_key(state: str, *, created_by=CREATOR, scopes=("gateway",)) -> VirtualKey:
    return VirtualKey(
        scopes=list(scopes),
        created_by_id=created_by.pk if created_by else None,
        expires_at=NOW - timedelta(minutes=1) if state == "expired" else None,
        revoked_at=NOW - timedelta(minutes=1) if state == "revoked" else None,
    )


def rights_of(role: str, key: VirtualKey, *, creator_role: str | None = "admin"):
    mine = key.created_by_id == ME.pk
    return key_rights(
        key,
        user=ME,
        capabilities=capabilities(role),
        own=OWN if mine else frozenset(),
        creator_capabilities=None if creator_role is None else capabilities(creator_role),
        now=NOW,
    )


def shown(rights) -> str:
    """view, edit, rotate, revoke as letters: "VERX" all, "-" for each one refused."""
    return "".join(
        letter if allowed else "-"
        for letter, allowed in zip(
            "VERX", (rights.view, rights.edit, rights.rotate, rights.revoke), strict=True
        )
    )


# A gateway key; "another's" was created by an Admin. Viewers keep no "own key" rights.
TABLE = [
    # role, state, created by me?, rights
    ("owner", "active", False, "VERX"),
    ("owner", "active", True, "VERX"),
    ("owner", "expired", False, "VE-X"),
    ("owner", "revoked", False, "V---"),
    ("admin", "active", False, "VERX"),
    ("admin", "active", True, "VERX"),
    ("admin", "expired", True, "VE-X"),
    ("admin", "revoked", True, "V---"),
    ("member", "active", False, "V---"),
    ("member", "active", True, "V-RX"),
    ("member", "expired", True, "V--X"),
    ("member", "expired", False, "V---"),
    ("member", "revoked", True, "V---"),
    ("viewer", "active", False, "----"),
    ("viewer", "active", True, "----"),
    ("viewer", "expired", True, "----"),
    ("viewer", "revoked", True, "----"),
]


@pytest.mark.parametrize(("role", "state", "mine", "expected"), TABLE)
def test_rights_by_role_key_state_and_creator(role, state, mine, expected):
    key = a_key(state, created_by=ME if mine else CREATOR)
    assert shown(rights_of(role, key)) == expected


REFUSALS = [
    ("member", "active", False, "edit", "Only Admins and Owners can edit keys."),
    ("owner", "revoked", True, "edit", "This key is revoked; revoked keys cannot be edited."),
    (
        "member",
        "active",
        False,
        "rotate",
        "You can rotate only keys you created; Admins and Owners can rotate any key.",
    ),
    (
        "member",
        "active",
        False,
        "revoke",
        "You can revoke only keys you created; Admins and Owners can revoke any key.",
    ),
    (
        "owner",
        "expired",
        True,
        "rotate",
        "This key has expired; an Admin can extend its expiry before it is rotated.",
    ),
    (
        "owner",
        "revoked",
        True,
        "rotate",
        "This key is already revoked; there is nothing left to rotate.",
    ),
    (
        "owner",
        "revoked",
        True,
        "revoke",
        "This key is already revoked; there is nothing left to revoke.",
    ),
]


@pytest.mark.parametrize(("role", "state", "mine", "action", "reason"), REFUSALS)
def test_each_refusal_says_why_in_the_products_words(role, state, mine, action, reason):
    rights = rights_of(role, a_key(state, created_by=ME if mine else CREATOR))
    assert rights.refusal(action) == reason


def test_allowed_actions_have_no_refusal():
    rights = rights_of("owner", a_key("active"))
    assert [rights.refusal(action) for action in ("edit", "rotate", "revoke")] == ["", "", ""]


# -- The admin scope: a key acting with its creator's current role ----------------------------

MORE = "can do more than yours"
CANNOT = "cannot change config or manage keys"
ADMIN_SCOPE = [
    # my role, creator's role (None: a deleted account), rotate an admin-scoped key of theirs,
    # add the admin scope to a gateway key of theirs (True, or the refusal's words)
    ("owner", "admin", True, True),
    ("owner", "owner", True, True),
    ("admin", "admin", True, True),
    ("admin", "owner", False, MORE),
    ("admin", "member", True, CANNOT),
    ("owner", "viewer", True, CANNOT),
    ("owner", None, True, CANNOT),
    ("member", "admin", False, "yours cannot change config"),
    ("member", "member", False, "yours cannot change config"),
]


@pytest.mark.parametrize(("role", "creator_role", "rotates", "grants"), ADMIN_SCOPE)
def test_the_admin_scope_follows_the_creators_current_role(role, creator_role, rotates, grants):
    creator = CREATOR if creator_role else None
    key_rights_args = {"creator_role": creator_role or "viewer"}
    scoped = rights_of(
        role, a_key("active", created_by=creator, scopes=["admin"]), **key_rights_args
    )
    assert scoped.rotate is rotates
    assert scoped.revoke is (role in ("owner", "admin"))
    gateway = rights_of(role, a_key("active", created_by=creator), **key_rights_args)
    if grants is True:
        assert gateway.grant_admin_scope is True and not gateway.refusal("grant_admin_scope")
    else:
        assert gateway.grant_admin_scope is False
        assert grants in gateway.refusal("grant_admin_scope")


def test_a_creator_may_always_rotate_their_own_admin_scoped_key():
    # Demoted from Admin to Member: the key now acts with the Member role, which they hold.
    rights = rights_of(
        "member", a_key("active", created_by=ME, scopes=["admin"]), creator_role=None
    )
    assert rights.rotate and rights.revoke


def test_a_creators_role_not_looked_up_refuses_what_depends_on_it():
    rights = rights_of("owner", a_key("active", scopes=["admin"]), creator_role=None)
    assert not rights.rotate and rights.revoke
    assert rights.grant_admin_scope is None


@pytest.mark.parametrize(
    ("role", "create", "grants"),
    [
        ("owner", True, True),
        ("admin", True, True),
        ("member", True, False),
        ("viewer", False, False),
    ],
)
def test_rights_on_a_new_key(role, create, grants):
    rights = key_rights(None, user=ME, capabilities=capabilities(role), now=NOW)
    assert (rights.create, rights.grant_admin_scope) == (create, grants)
    assert bool(rights.refusal("create")) is not create
    assert bool(rights.refusal("grant_admin_scope")) is not grants


# -- The page's batch read and the services' check agree ---------------------------------------


@pytest.mark.django_db
def test_the_inventory_and_the_services_read_the_same_rights(
    organization, owner, admin, member, viewer
):
    now = timezone.now()
    keys = [
        make_key(organization, owner, name="owners", scopes=["gateway", "admin"]).key,
        make_key(organization, admin, name="admins").key,
        make_key(organization, member, name="members").key,
        make_key(organization, member, name="soon", expires_at=now + timedelta(minutes=1)).key,
        make_key(organization, member, name="gone").key,
    ]
    key_revoke(key=keys[-1], actor=Actor(member))
    keys = list(VirtualKey.objects.filter(organization=organization).select_related("organization"))
    later = now + timedelta(minutes=2)
    for user, role in ((owner, "owner"), (admin, "admin"), (member, "member"), (viewer, "viewer")):
        page = member_key_rights(user, keys, capabilities=capabilities(role), now=later)
        for key in keys:
            checked = actor_key_rights(user, key, now=later)
            listed = page[key.pk]
            assert (listed.view, listed.edit, listed.rotate, listed.revoke) == (
                checked.view,
                checked.edit,
                checked.rotate,
                checked.revoke,
            ), (role, key.name)
            assert checked.grant_admin_scope is not None
