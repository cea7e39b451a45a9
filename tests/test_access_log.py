"""Keys and tokens in query strings are masked in uvicorn's logs (functions_py/http/access_log.py)."""

from __future__ import annotations

import logging

import pytest

from functions_py.http.access_log import SecretQueryFilter, mask_query, mask_query_secrets


@pytest.mark.parametrize(("raw", "masked"), [
    ("/realtime/v1/websocket?apikey=eyJhbGciOi.x.y&vsn=1.0.0", "/realtime/v1/websocket?apikey=***&vsn=1.0.0"),
    ("/storage/v1/object/sign/a/b.png?token=abc.def", "/storage/v1/object/sign/a/b.png?token=***"),
    ("/auth/v1/verify?type=signup&token_hash=123&redirect_to=x",
     "/auth/v1/verify?type=signup&token_hash=***&redirect_to=x"),
    ("/cb?ACCESS_TOKEN=a&refresh_token=b", "/cb?ACCESS_TOKEN=***&refresh_token=***"),
    ("/rest/v1/todos?select=*&tokens=eq.3", "/rest/v1/todos?select=*&tokens=eq.3"),  # a column named tokens
    ("/rest/v1/todos?select=id", "/rest/v1/todos?select=id"),
])
def test_secret_query_values_are_masked_and_others_kept(raw: str, masked: str):
    assert mask_query(raw) == masked


def test_the_filter_masks_uvicorns_access_and_websocket_records(caplog: pytest.LogCaptureFixture):
    mask_query_secrets()
    mask_query_secrets()  # twice is harmless
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, SecretQueryFilter) for f in access.filters) == 1
    with caplog.at_level(logging.INFO):
        # the formats uvicorn uses: the access log line and the WebSocket handshake line
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/x?apikey=sekret&a=1", "1.1", 200)
        logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5",
                                                "/realtime/v1/websocket?apikey=sekret&vsn=1.0.0")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ['127.0.0.1:5 - "GET /x?apikey=***&a=1 HTTP/1.1" 200',
                        '127.0.0.1:5 - "WebSocket /realtime/v1/websocket?apikey=***&vsn=1.0.0" [accepted]']
