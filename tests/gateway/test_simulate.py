"""The stand-in gateway posts its batches over real HTTP to a running control plane."""

import io

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_organization, make_user
from tests.gateway.conftest import TOKEN
from tests.keys.conftest import make_key
from usage.models import RequestLog


@pytest.mark.django_db(transaction=True)
def test_simulated_gateway_batches_land_in_the_org_of_their_keys(live_server, settings):
    settings.GATEWAY_TOKENS = [TOKEN]
    owner = make_user()
    organization = make_organization("Simulated", owner=owner)
    for name in ("web", "batch-jobs"):
        make_key(organization, owner, name)
    quiet = make_organization("Quiet", owner=owner)
    make_key(quiet, owner, "idle")
    out = io.StringIO()

    call_command(
        "gateway_simulate",
        url=live_server.url,
        token=TOKEN,
        org=organization.slug,
        rows=120,
        batch=50,
        clients=2,
        stdout=out,
    )

    assert "120 stored, 0 duplicates, 0 rejected" in out.getvalue()
    assert RequestLog.objects.filter(organization=organization).count() == 120
    assert not RequestLog.objects.filter(organization=quiet).exists()


@pytest.mark.django_db
def test_an_org_without_active_keys_is_refused_by_name(settings):
    organization = make_organization("Keyless")
    with pytest.raises(CommandError, match="--org: .* has no active keys"):
        call_command("gateway_simulate", token=TOKEN, org=organization.slug)
