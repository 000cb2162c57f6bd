"""The CKAN internals udp_api uses, through ``ckanext.udp.compat`` (block
"i14-api2"): each checked, so that a CKAN upgrade that changes one fails here."""

from __future__ import annotations

import inspect

from ckanext.udp import compat


def test_the_feed_views_still_have_the_helpers_we_replace(app, with_plugins):
    from ckan.views import feed

    for name in ("_feed_url", "_navigation_urls"):
        assert name in vars(feed)
    assert list(inspect.signature(feed._navigation_urls).parameters)[:5] == [
        "query",
        "controller",
        "action",
        "item_count",
        "limit",
    ]
    # in the app the plugin put ours into the views' module
    view = app.flask_app.view_functions["feeds.general"]
    while hasattr(view, "__wrapped__"):
        view = view.__wrapped__
    assert view.__globals__["_navigation_urls"] is compat._feed_navigation_urls


def test_redis_connection_answers(with_plugins):
    assert compat.redis_connection().ping() is True


def test_search_errors_are_still_the_exceptions_package_search_lets_through():
    errors = compat.search_errors()
    assert len(errors) == 2 and all(issubclass(e, Exception) for e in errors)
    assert [e.__name__ for e in errors] == ["SearchError", "SearchQueryError"]
