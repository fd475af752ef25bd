"""Key services: validation with field-named errors, who may do what, audit entries, one org."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from keys.models import (
    KeyPermission,
    RetiredSecret,
    Scope,
    VirtualKey,
    VirtualKeyUserObjectPermission,
)
from keys.permissions import admin_scope_capabilities, own_key_permissions
from keys.secrets import lookup
from keys.services import KeyAttributes, key_create, key_revoke, key_rotate, key_update
from members.services import membership_change_role
from orgs.models import AuditEvent, Membership
from orgs.roles import Capability, Role
from prism_site.actor import Actor
from prism_site.errors import Invalid, Refused
from tests.factories import add_member, make_organization
from tests.keys.conftest import make_key, set_org_config


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.errors


def attempt(organization, actor, **attributes):
    """Create a key from these attributes as the API would pass them (a request body), and
    return the field errors: every problem in one answer."""
    attributes.setdefault("name", "service")
    with pytest.raises(Invalid) as excinfo:
        key_create(organization=organization, actor=Actor(actor), attributes=attributes)
    return errors_of(excinfo)


# -- Validation --------------------------------------------------------------------------------


def test_create_stores_what_was_chosen(configured_org, member):
    expires = timezone.now() + timedelta(days=30)
    issued = make_key(
        configured_org,
        member,
        name="  payments  ",
        expires_at=expires,
        rate_limit_rpm=60,
        rate_limit_tpm=5000,
        allowed_models=["gpt-4o-mini", "claude-sonnet-4", "gpt-4o-mini"],
        allowed_ips=["203.0.113.0/24", "198.51.100.7"],
        budget_limit=Decimal("25.50"),
        budget_period="monthly",
        metadata={"team": "payments"},
    )
    key = VirtualKey.objects.get(pk=issued.key.pk)
    assert key.name == "payments"
    assert key.scopes == ["gateway"]
    assert key.created_by == member
    assert key.expires_at == expires
    assert key.allowed_models == ["claude-sonnet-4", "gpt-4o-mini"]
    assert key.allowed_ips == ["203.0.113.0/24", "198.51.100.7/32"]
    assert key.budget_limit == Decimal("25.50") and key.budget_period == "monthly"
    assert key.metadata == {"team": "payments"}
    assert key.status == "active"
    assert issued.warnings == ()


def test_names_are_unique_among_the_orgs_active_keys(
    organization, owner, member, other_organization
):
    make_key(organization, owner, name="Checkout")
    assert "already called" in attempt(organization, member, name="checkout")["name"][0]
    # Another org may use the name; a revoked or expired key frees it.
    make_key(other_organization, other_organization.memberships.get().user, name="Checkout")
    revoked = make_key(organization, owner, name="batch").key
    key_revoke(key=revoked, actor=Actor(owner))
    make_key(organization, owner, name="batch")
    now = timezone.now()
    make_key(organization, owner, name="nightly", expires_at=now + timedelta(minutes=1))
    key_create(
        organization=organization,
        actor=Actor(owner),
        attributes=KeyAttributes(name="nightly"),
        now=now + timedelta(minutes=2),
    )


def test_errors_name_each_field_and_the_fix(configured_org, owner):
    errors = attempt(
        configured_org,
        owner,
        name="",
        scopes=[],
        expires_at=timezone.now() - timedelta(minutes=1),
        rate_limit_rpm=0,
        rate_limit_tpm=-5,
        allowed_models=["gpt-5"],
        allowed_ips=["10.0.0.1/8", "not-an-ip"],
        budget_limit=Decimal("-1"),
        budget_period="",
    )
    assert errors["name"] == ["name: give the key a name, such as the service that will use it."]
    assert errors["scopes"][0].startswith("scopes: choose at least one scope")
    assert errors["expires_at"] == [
        "expires_at: pick a time in the future, or leave it empty for no expiry."
    ]
    assert errors["rate_limit_rpm"][0].startswith("rate_limit_rpm: enter a whole number")
    assert errors["rate_limit_tpm"][0].startswith("rate_limit_tpm: enter a whole number")
    assert errors["allowed_models"] == [
        "allowed_models: gpt-5 is not offered by any enabled provider of this org (offered: "
        "claude-sonnet-4, gpt-4o, gpt-4o-mini); remove it or add it to a provider first."
    ]
    assert errors["allowed_ips"] == [
        "allowed_ips: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
        "allowed_ips: not-an-ip is not an IP address or CIDR range (10.0.0.0/8).",
    ]
    assert errors["budget_limit"][0].startswith("budget_limit: enter an amount in USD")
    assert errors["budget_period"][0].startswith("budget_period: choose the period")
    assert VirtualKey.objects.count() == 0


def test_models_of_a_disabled_provider_are_not_offered(configured_org, owner):
    errors = attempt(configured_org, owner, allowed_models=["mistral-large"])
    assert "mistral-large is not offered" in errors["allowed_models"][0]


def test_models_are_only_warned_about_when_the_org_lists_none(organization, owner):
    set_org_config(organization, {"providers": [{"name": "any", "type": "openai"}]})
    issued = make_key(organization, owner, allowed_models=["my-finetune"])
    assert issued.key.allowed_models == ["my-finetune"]
    assert issued.warnings == (
        "allowed_models: the org's providers list no models, so my-finetune could not be "
        "checked; make sure the names are right.",
    )


def test_budget_needs_both_amount_and_period(organization, owner):
    assert "budget_period" in attempt(organization, owner, budget_limit=Decimal(10))
    assert "budget_limit" in attempt(organization, owner, budget_period="weekly")
    errors = attempt(organization, owner, budget_limit=Decimal(10), budget_period="yearly")
    assert errors["budget_period"] == [
        "budget_period: must be one of daily, weekly, monthly, total."
    ]


def test_metadata_must_be_text(organization, owner):
    errors = attempt(organization, owner, metadata={"team": 5})
    assert errors["metadata"][0].startswith("metadata: keys and values must be text")


# -- Who may do what ---------------------------------------------------------------------------


def test_viewer_cannot_create_keys(organization, viewer):
    with pytest.raises(Refused):
        make_key(organization, viewer)


def test_member_cannot_give_a_key_the_admin_scope(organization, member):
    errors = attempt(organization, member, scopes=["gateway", "admin"])
    assert errors["scopes"][0].startswith("scopes: the admin scope acts with its creator's role")


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_may_create_admin_scoped_keys(organization, users_by_role, role):
    issued = make_key(organization, users_by_role[role], scopes=["admin"])
    assert issued.key.scopes == ["admin"]
    assert Capability.CHANGE_CONFIG.value in admin_scope_capabilities(issued.key)


def test_admin_scope_acts_with_the_creators_current_role(organization, owner, admin):
    issued = make_key(organization, admin, scopes=["gateway", "admin"])
    membership = Membership.objects.get(user=admin, organization=organization)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.MEMBER, actor=Actor(owner)
    )
    capabilities = admin_scope_capabilities(issued.key)
    assert Capability.MANAGE_KEYS.value not in capabilities
    assert Capability.VIEW_CONFIG.value in capabilities
    assert admin_scope_capabilities(make_key(organization, owner, name="gw").key) == frozenset()


def test_admin_cannot_add_the_admin_scope_to_a_members_key(organization, admin, member):
    key = make_key(organization, member).key
    with pytest.raises(Invalid) as excinfo:
        key_update(
            key=key, actor=Actor(admin), attributes=KeyAttributes(name=key.name, scopes=["admin"])
        )
    assert "this key's creator's role" in errors_of(excinfo)["scopes"][0]


def test_admin_cannot_add_the_admin_scope_to_an_owners_key(organization, owner, admin):
    # The scope would act with the Owner's role: manage_owners, manage_organization.
    key = make_key(organization, owner).key
    audited = AuditEvent.objects.count()
    with pytest.raises(Invalid) as excinfo:
        key_update(
            key=key,
            actor=Actor(admin),
            attributes=KeyAttributes(name=key.name, scopes=["gateway", "admin"]),
        )
    assert errors_of(excinfo)["scopes"] == [
        "scopes: the admin scope acts with this key's creator's role, which can do more than "
        "yours; ask the creator or an Owner to add it, or create a new key of your own."
    ]
    key.refresh_from_db()
    assert key.scopes == ["gateway"] and AuditEvent.objects.count() == audited


def test_admin_cannot_rotate_an_owners_admin_scoped_key_but_may_revoke_it(
    organization, owner, admin
):
    issued = make_key(organization, owner, scopes=["gateway", "admin"])
    key = issued.key
    with pytest.raises(Refused, match="acts with its creator's role"):
        key_rotate(key=key, actor=Actor(admin), grace="none")
    key.refresh_from_db()
    assert key.rotated_at is None and lookup(issued.secret).usable
    assert not RetiredSecret.objects.filter(key=key).exists()
    assert not AuditEvent.objects.filter(action="key.rotate").exists()
    key_revoke(key=key, actor=Actor(admin))
    assert not lookup(issued.secret).usable


def test_the_check_reads_the_creators_current_role(organization, owner, admin):
    # An Admin's admin-scoped key, its creator since promoted: it now acts as an Owner.
    peer = add_member(organization, Role.ADMIN)
    key = make_key(organization, peer, scopes=["gateway", "admin"]).key
    key_rotate(key=key, actor=Actor(admin), grace="none")
    membership = Membership.objects.get(user=peer, organization=organization)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.OWNER, actor=Actor(owner)
    )
    with pytest.raises(Refused, match="acts with its creator's role"):
        key_rotate(key=key, actor=Actor(admin), grace="none")


def test_owner_may_add_the_admin_scope_to_and_rotate_an_admins_key(organization, owner, admin):
    key = make_key(organization, admin).key
    saved = key_update(
        key=key,
        actor=Actor(owner),
        attributes=KeyAttributes(name=key.name, scopes=["gateway", "admin"]),
    )
    assert saved.key.scopes == ["admin", "gateway"]
    rotated = key_rotate(key=key, actor=Actor(owner), grace="none")
    assert lookup(rotated.secret).usable
    # Its creator may always rotate their own key.
    key_rotate(key=key, actor=Actor(admin), grace="none")


def test_creator_gets_rotate_and_revoke_rights_on_the_key(organization, member):
    key = make_key(organization, member).key
    assert own_key_permissions(member, [key]) == {
        key.pk: frozenset({KeyPermission.ROTATE.value, KeyPermission.REVOKE.value})
    }
    assert VirtualKeyUserObjectPermission.objects.filter(content_object=key).count() == 2


def test_member_rotates_and_revokes_own_keys_only(organization, owner, member):
    own = make_key(organization, member, name="mine").key
    others = make_key(organization, owner, name="owners").key
    key_rotate(key=own, actor=Actor(member), grace="none")
    with pytest.raises(Refused, match="only keys you created"):
        key_rotate(key=others, actor=Actor(member), grace="none")
    with pytest.raises(Refused, match="only keys you created"):
        key_revoke(key=others, actor=Actor(member))
    key_revoke(key=own, actor=Actor(member))


def test_member_cannot_edit_even_own_keys(organization, member):
    key = make_key(organization, member).key
    with pytest.raises(Refused, match="Only Admins and Owners can edit keys"):
        key_update(key=key, actor=Actor(member), attributes=KeyAttributes(name="renamed"))


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_manage_any_key(organization, member, users_by_role, role):
    actor = users_by_role[role]
    key = make_key(organization, member).key
    saved = key_update(
        key=key, actor=Actor(actor), attributes=KeyAttributes(name="renamed", rate_limit_rpm=10)
    )
    assert saved.key.name == "renamed" and saved.key.rate_limit_rpm == 10
    key_rotate(key=key, actor=Actor(actor), grace="1h")
    key_revoke(key=key, actor=Actor(actor))


def test_demoted_creator_loses_own_key_rights_on_the_next_request(organization, owner, member):
    key = make_key(organization, member).key
    membership = Membership.objects.get(user=member, organization=organization)
    membership_change_role(
        organization=organization, membership_id=membership.pk, role=Role.VIEWER, actor=Actor(owner)
    )
    with pytest.raises(Refused):
        key_revoke(key=key, actor=Actor(member))


def test_revoked_keys_cannot_be_rotated_edited_or_revoked_again(organization, owner):
    key = make_key(organization, owner).key
    key_revoke(key=key, actor=Actor(owner))
    with pytest.raises(Refused, match="already revoked"):
        key_rotate(key=key, actor=Actor(owner), grace="none")
    with pytest.raises(Refused, match="already revoked"):
        key_revoke(key=key, actor=Actor(owner))
    with pytest.raises(Refused):
        key_update(key=key, actor=Actor(owner), attributes=KeyAttributes(name="again"))


def test_expired_keys_are_not_rotated(organization, owner):
    now = timezone.now()
    key = make_key(organization, owner, expires_at=now + timedelta(minutes=1)).key
    with pytest.raises(Refused, match="has expired"):
        key_rotate(key=key, actor=Actor(owner), grace="none", now=now + timedelta(minutes=2))


def test_rotate_refuses_an_unknown_grace(organization, owner):
    key = make_key(organization, owner).key
    with pytest.raises(Invalid) as excinfo:
        key_rotate(key=key, actor=Actor(owner), grace="2d")
    assert errors_of(excinfo)["grace"] == ["grace: must be one of none, 1h, 24h, 7d."]


def test_an_expired_key_can_be_edited_to_extend_it(organization, owner):
    now = timezone.now()
    key = make_key(organization, owner, expires_at=now + timedelta(minutes=1)).key
    later = now + timedelta(hours=1)
    # Keeping a past expiry while renaming is fine; setting a new past one is not.
    key_update(
        key=key,
        actor=Actor(owner),
        attributes=KeyAttributes(name="renamed", expires_at=key.expires_at),
        now=later,
    )
    with pytest.raises(Invalid):
        key_update(
            key=key,
            actor=Actor(owner),
            attributes=KeyAttributes(name="renamed", expires_at=later - timedelta(seconds=1)),
            now=later,
        )
    saved = key_update(
        key=key,
        actor=Actor(owner),
        attributes=KeyAttributes(name="renamed", expires_at=later + timedelta(days=1)),
        now=later,
    )
    assert saved.key.status_at(later) == "active"


def test_a_key_cannot_be_moved_to_another_org(organization, owner):
    key = VirtualKey.objects.get(pk=make_key(organization, owner).key.pk)
    key.organization = make_organization("Elsewhere", owner=owner)
    with pytest.raises(ValidationError, match="cannot be moved"):
        key.save()
    assert VirtualKey.objects.get(pk=key.pk).organization_id == organization.pk


# -- Audit -------------------------------------------------------------------------------------


def test_every_change_is_audited_without_the_secret(configured_org, owner, member):
    issued = make_key(configured_org, member, rate_limit_rpm=60, metadata={"team": "a"})
    key_update(
        key=issued.key,
        actor=Actor(owner, ip_address="203.0.113.9"),
        attributes=KeyAttributes(
            name="renamed", rate_limit_rpm=30, metadata={"team": "b"}, scopes=[Scope.GATEWAY]
        ),
    )
    rotated = key_rotate(key=issued.key, actor=Actor(member), grace="24h")
    key_revoke(key=issued.key, actor=Actor(owner))

    events = list(
        AuditEvent.objects.filter(action__startswith="key.")
        .order_by("id")
        .values("action", "actor_email", "target", "details", "ip_address")
    )
    assert [event["action"] for event in events] == [
        "key.create",
        "key.update",
        "key.rotate",
        "key.revoke",
    ]
    create, update, rotate, revoke = events
    assert create["actor_email"] == member.email
    assert create["details"]["key_id"] == issued.key.public_id
    assert create["details"]["rate_limit_rpm"] == 60
    assert update["details"]["rate_limit_rpm"] == {"from": 60, "to": 30}
    assert update["details"]["name"] == {"from": "checkout-service", "to": "renamed"}
    assert update["details"]["metadata"] == "changed"
    assert update["ip_address"] == "203.0.113.9"
    assert rotate["details"]["grace"] == "24h"
    assert revoke["actor_email"] == owner.email
    assert revoke["target"] == f"renamed ({issued.key.public_id})"
    text = repr(events)
    for secret in (issued.secret, rotated.secret):
        assert secret not in text
        assert secret[13:-4] not in text


def test_an_edit_that_changes_nothing_writes_no_audit_entry(organization, owner):
    key = make_key(organization, owner).key
    before = AuditEvent.objects.count()
    key_update(key=key, actor=Actor(owner), attributes=KeyAttributes.of(key))
    assert AuditEvent.objects.count() == before


def test_other_orgs_members_have_no_rights(organization, owner, outsider):
    key = make_key(organization, owner).key
    add_member(make_organization("Third"), Role.OWNER, outsider)
    with pytest.raises(Refused):
        key_revoke(key=key, actor=Actor(outsider))
