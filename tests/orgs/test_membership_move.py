"""Membership moved from the members app to orgs without moving a row: the table, its rows, its
constraint and its content type are the same ones, read through the new model."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from orgs.models import Membership
from orgs.roles import Role
from tests.factories import make_organization, make_user

BEFORE = [("orgs", "0003_role_grants"), ("members", "0004_invitation")]


def _migrate(targets=None):
    """Migrate to `targets`, or back to the latest migrations of every app."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_are_read_after_it():
    old_apps = _migrate(BEFORE)
    try:
        OldMembership = old_apps.get_model("members", "Membership")
        assert OldMembership._meta.db_table == "members_membership"
        ContentType.objects.filter(app_label="orgs", model="membership").delete()
        ContentType.objects.get_or_create(app_label="members", model="membership")
        old_organization = old_apps.get_model("orgs", "Organization").objects.create(
            name="Before", slug="before-the-move"
        )
        old_user = old_apps.get_model("members", "User").objects.create(email="kept@example.com")
        OldMembership.objects.create(
            organization=old_organization, user=old_user, role=Role.ADMIN.value
        )
    finally:
        _migrate()

    membership = Membership.objects.select_related("user", "organization").get(
        organization__slug="before-the-move"
    )
    assert (membership.user.email, membership.role) == ("kept@example.com", Role.ADMIN)
    assert ContentType.objects.filter(app_label="orgs", model="membership").count() == 1
    assert not ContentType.objects.filter(app_label="members", model="membership").exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            organization=membership.organization, user=membership.user, role=Role.VIEWER
        )


@pytest.mark.django_db
def test_the_model_reads_and_writes_the_same_table():
    assert Membership._meta.db_table == "members_membership"
    organization = make_organization()
    user = make_user()
    Membership.objects.create(organization=organization, user=user, role=Role.VIEWER)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT role FROM members_membership WHERE organization_id = %s AND user_id = %s",
            [organization.pk, user.pk],
        )
        assert cursor.fetchone() == (Role.VIEWER.value,)
