"""Actions of ``udp_api``."""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context

from ckanext.udp import compat

from .. import changes as log
from . import schema


def _fail(message: str) -> Exception:
    # the Action API answers DataError with 400 (ValidationError would be 409)
    return compat.data_error(message)


@tk.side_effect_free
def udp_changes(context: Context, data_dict: dict[str, Any]) -> dict[str, Any]:
    """The public catalog's changes since a cursor, oldest first.

    :param since: the ``next`` token of the previous answer; without it the
        feed starts at the beginning (every public dataset once)
    :type since: string
    :param limit: at most this many log entries per answer (default 100,
        maximum ``ckanext.udp.api.changes_max_limit``)
    :type limit: int

    Returns ``{"changes": [...], "next": token, "more": bool}``. Each change
    is ``{"type": "created"|"updated", "id", "metadata_modified", "dataset":
    <the dict package_search returns>}`` or ``{"type": "removed", "id"}``
    (deleted, or no longer in public view). A dataset changed several times
    since the cursor appears once, with its current state. Call again with
    ``since=<next>``; ``more`` is true when more changes are waiting.
    """
    tk.check_access("udp_changes", context, data_dict)
    data, errors = tk.navl_validate(dict(data_dict), schema.changes(), context)
    if errors:
        raise _fail("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in sorted(errors.items())))
    maximum = int(tk.config.get("ckanext.udp.api.changes_max_limit"))
    if data["limit"] > maximum:
        raise _fail(f"limit: must be at most {maximum}")
    try:
        after = log.Cursor.decode(data["since"]).seq if data.get("since") else 0
    except log.CursorError:
        raise _fail("since: not a cursor of this feed (use the 'next' value of an earlier answer)") from None

    settle = float(tk.config.get("ckanext.udp.api.changes_settle_seconds"))
    rows = log.read(after, data["limit"] + 1, settle)
    more = len(rows) > data["limit"]
    rows = rows[: data["limit"]]
    settled = []
    for row in rows:
        if not row.settled:
            more = True
            break
        settled.append(row)

    visible = _public_datasets([r.package_id for r in settled])
    out: list[dict[str, Any]] = []
    position = after
    for row in settled:
        dataset = visible.get(row.package_id)
        if dataset is not None:
            created = row.public_since is not None and row.public_since > after
            out.append(
                {
                    "type": "created" if created else "updated",
                    "id": row.package_id,
                    "metadata_modified": dataset.get("metadata_modified"),
                    "dataset": dataset,
                }
            )
        elif row.was_public:
            out.append({"type": "removed", "id": row.package_id})
        # never public: never named, but the cursor moves past it
        position = row.seq
    log.mark_public([i for i in visible])
    return {"changes": out, "next": log.Cursor(position).encode(), "more": more}


def _public_datasets(ids: list[str]) -> dict[str, dict[str, Any]]:
    """The datasets among ``ids`` an anonymous ``package_search`` shows, as it shows them."""
    if not ids:
        return {}
    quoted = ('"{}"'.format(i.replace("\\", "\\\\").replace('"', '\\"')) for i in ids)
    fq = "id:({})".format(" OR ".join(quoted))
    anonymous = {"user": "", "auth_user_obj": None, "ignore_auth": False}
    found = tk.get_action("package_search")(anonymous, {"fq": fq, "rows": len(ids)})
    return {d["id"]: d for d in found["results"]}


__all__ = ["udp_changes"]
