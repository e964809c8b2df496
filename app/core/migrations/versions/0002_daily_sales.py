"""The daily_sales rollup, filled from the orders already there.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_sales",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("region_id", sa.Integer, sa.ForeignKey("regions.id"), primary_key=True),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("revenue", sa.Numeric(14, 2), nullable=False),
    )
    # The rollup of the orders already there (written out: a migration must not
    # change with the app's code).
    op.execute(
        "INSERT INTO daily_sales (day, region_id, product_id, orders, units, revenue)"
        " SELECT order_date, region_id, product_id, count(*), sum(quantity), sum(amount)"
        " FROM orders GROUP BY order_date, region_id, product_id"
    )


def downgrade() -> None:
    op.drop_table("daily_sales")
