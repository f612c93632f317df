"""Migration 0006 on a store that already has data: link clicks get their
message's account (v2 stats read them by account and time)."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from sqlalchemy import Engine, column, insert, select, table

from simgate.store.db import alembic_config
from simgate.store.tables import link_clicks

# Tables as revision 0005 has them: only the columns written here.
accounts_0005 = table(
    "accounts", column("id"), column("email"), column("timezone"), column("region"),
    column("created_at"),
)  # fmt: skip
messages_0005 = table(
    "messages", column("id"), column("account_id"), column("id_sms_api"), column("request_hash"),
    column("phone_number"), column("message"), column("priority"), column("encoding"),
    column("segments"), column("state"), column("send_at"), column("created_at"),
    column("attempts"),
)  # fmt: skip
clicks_0005 = table(
    "link_clicks", column("id"), column("message_id"), column("clicked_at"), column("is_preview")
)

T0 = datetime(2026, 11, 1, 10, 0, 0)


def test_clicks_of_an_existing_store_get_their_account(engine: Engine) -> None:
    config = alembic_config(engine)
    command.downgrade(config, "0005")
    with engine.begin() as conn:
        for account_id in (1, 2):
            conn.execute(
                insert(accounts_0005).values(
                    id=account_id, email=f"a{account_id}@example.com", timezone="UTC",
                    region="FR", created_at=T0,
                )
            )  # fmt: skip
            conn.execute(
                insert(messages_0005).values(
                    id=10 + account_id, account_id=account_id, id_sms_api=f"m{account_id}",
                    request_hash="", phone_number="+33612345678", message="x", priority=1,
                    encoding="gsm7", segments=1, state="sent", send_at=T0, created_at=T0,
                    attempts=0,
                )
            )  # fmt: skip
            conn.execute(
                insert(clicks_0005).values(
                    id=100 + account_id, message_id=10 + account_id, clicked_at=T0,
                    is_preview=False,
                )
            )  # fmt: skip
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            select(link_clicks.c.id, link_clicks.c.account_id).order_by(link_clicks.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [(101, 1), (102, 2)]
