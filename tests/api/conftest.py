import pytest

from portal.api.clients import create_client
from portal.extensions import db as _db
from tests.factories import LenderFactory


@pytest.fixture
def lender(db):
    return LenderFactory(code="SUNRISE", name="晨光消费金融有限公司")


@pytest.fixture
def make_client(db, lender):
    def make(scopes=("accounts:write", "links:write", "events:read"), webhook_url=None, name=None, for_lender=None):
        client, token = create_client(
            name or f"core-{len(scopes)}-{id(scopes)}", for_lender or lender, list(scopes), webhook_url=webhook_url
        )
        _db.session.commit()
        return client, {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def auth(make_client):
    return make_client()[1]
