"""Scale (issue 14): per-account rollups of message counts, kept by triggers,
and the indexes behind every list filter the dashboard and the v2 API offer.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa  # noqa: F401  (used by the sections below as they fill in)
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rollups_up()
    _list_indexes_up()


def downgrade() -> None:
    _list_indexes_down()
    _rollups_down()


# --- Rollups ------------------------------------------------------------------
# (message counts per account, hour and state; campaign counts per state)


def _rollups_up() -> None:
    pass


def _rollups_down() -> None:
    pass


# --- List indexes -------------------------------------------------------------
# (one per filter the dashboard and v2 lists offer, designed with EXPLAIN)


def _list_indexes_up() -> None:
    pass


def _list_indexes_down() -> None:
    pass
