"""How the gateway carries the web: pages and assets compressed for clients that accept
it; the event streams (the API's and the web's relay) and the API's JSON never."""

from __future__ import annotations

import re

import httpx

from conftest import Stack


def test_pages_and_assets_are_compressed_streams_and_api_are_not(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=15) as c:
        gz = {"Accept-Encoding": "gzip"}
        page = c.get("/courses", headers=gz)
        assert page.status_code == 200
        assert page.headers.get("content-encoding") == "gzip"
        assert "<html" in page.text  # httpx decodes it: the page is whole
        asset = re.search(r'href="(/static/[^"]+\.css[^"]*)"', page.text)
        assert asset, page.text[:500]
        css = c.get(asset.group(1), headers=gz)
        assert css.status_code == 200 and css.headers.get("content-encoding") == "gzip"
        # Without Accept-Encoding: plain.
        plain = c.get("/courses", headers={"Accept-Encoding": "identity"})
        assert plain.headers.get("content-encoding") is None
        # The API is not compressed here (its clients' and the bench's figures stay as they
        # were), nor are the event streams (an event must not wait in a compressor).
        api = c.get("/api/v1/courses", headers=gz)
        assert api.status_code == 200 and api.headers.get("content-encoding") is None
        relay = c.get("/live", headers=gz)  # not signed in: refused, but not compressed
        assert relay.status_code == 401 and relay.headers.get("content-encoding") is None
