"""Articles (parts) and their categories (reference.md §4.34, §4.35)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Deletion,
    Entity,
    EntityOptions,
    decimal,
    flag,
    reference,
    string,
)


class ArticleCategory(Entity):
    __tablename__ = "article_category"
    odata = EntityOptions(erp_key="code", description="A tree of article categories.")

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    parent_id: Mapped[uuid.UUID] = reference("article_category")


class Article(Entity):
    __tablename__ = "article"
    odata = EntityOptions(
        erp_key="code",
        deletion=Deletion.FORBIDDEN,
        deletion_hint="An article cannot be deleted; set archived to true instead.",
        description="A part or service that can be used on a job.",
    )

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    description_short: Mapped[str] = string(100)
    description: Mapped[str] = string()
    barcode: Mapped[str] = string(50)
    article_category_id: Mapped[uuid.UUID] = reference("article_category")
    entered_price: Mapped[float] = decimal(minimum=0, doc="Standard price.")
    min_article_quantity: Mapped[float] = decimal(minimum=0)
    archived: Mapped[bool] = flag()
    no_stock: Mapped[bool] = flag(doc="No stock check on orders.")
    is_dummy: Mapped[bool] = flag()
    use_serial: Mapped[bool] = flag()
    is_travel_fee: Mapped[bool] = flag()
    is_mileage_fee: Mapped[bool] = flag()
    length: Mapped[float] = decimal(minimum=0)
    width: Mapped[float] = decimal(minimum=0)
    height: Mapped[float] = decimal(minimum=0)
    mass: Mapped[float] = decimal(minimum=0)
    volume: Mapped[float] = decimal(minimum=0)
