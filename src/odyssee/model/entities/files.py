"""Files and document-manager folders (reference.md §3.7, §4.39, §4.40)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Entity,
    EntityOptions,
    StoredApart,
    flag,
    guid,
    integer,
    reference,
    stored_apart,
    string,
)


class DbFileFolder(Entity):
    __tablename__ = "db_file_folder"
    odata = EntityOptions(erp_key="reference_back_office", description="A folder of the document manager.")

    reference_back_office: Mapped[str] = string(255, doc="ERP key.")
    name: Mapped[str] = string(255, required=True)
    description: Mapped[str] = string(255)
    parent_id: Mapped[uuid.UUID] = reference("db_file_folder")
    sequence: Mapped[int] = integer()
    is_sales: Mapped[bool] = flag(doc="Files also shown on company and contact details.")
    is_services: Mapped[bool] = flag(doc="Files also shown on task, project and job details.")
    is_articles: Mapped[bool] = flag(doc="Files also shown on article details.")


class DbFile(Entity):
    __tablename__ = "db_file"
    odata = EntityOptions(description="A stored file: global, linked to a row, or generated (approval PDF).")

    name: Mapped[str] = string(100, required=True)
    description: Mapped[str] = string(4000)
    file_name: Mapped[str] = string(100)
    mime_type: Mapped[str] = string(100)
    file_content: ClassVar[StoredApart] = stored_apart(
        doc="The bytes, base64 in JSON; kept in the blob store. Listed only when $select names it."
    )
    file_size: Mapped[int] = integer(read_only=True, doc="Bytes; computed by the server.")
    db_table_name: Mapped[str] = string(50, doc="article, company, contact, jobs, job_approval, project or task.")
    id_in_table: Mapped[uuid.UUID] = guid(doc="The row the file is linked to.")
    file_type_name: Mapped[str] = string(50, read_only=True, doc="JOB_APPROVAL, ORDERPDF, ... for generated files.")
    image_width: Mapped[int] = integer(minimum=0)
    image_heigth: Mapped[int] = integer(minimum=0, doc="Sic: the spec's spelling.")
    db_file_folder_id: Mapped[uuid.UUID] = reference("db_file_folder")
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")
    user_notification: Mapped[bool] = flag()
    is_archived: Mapped[bool] = flag()
