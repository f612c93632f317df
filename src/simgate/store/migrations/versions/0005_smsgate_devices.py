"""devices of two kinds: agents and SMS Gateway apps

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A device is an agent (simgate's WebSocket) or the SMS Gateway for Android
    # app in private-server mode (api/mobile.py); rows paired before are agents.
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="agent")
        )
        batch_op.add_column(sa.Column("pairing_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("signing_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("push_token", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("sim_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("app_info", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_devices_pairing_hash"), ["pairing_hash"])


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_devices_pairing_hash"), type_="unique")
        batch_op.drop_column("app_info")
        batch_op.drop_column("sim_number")
        batch_op.drop_column("push_token")
        batch_op.drop_column("signing_key")
        batch_op.drop_column("pairing_hash")
        batch_op.drop_column("kind")
