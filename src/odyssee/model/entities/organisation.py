"""Sales organisations, companies (customers, suppliers) and their contacts.

reference.md §4.1, §4.17, §4.26, §4.29.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Deletion,
    Entity,
    EntityOptions,
    decimal,
    flag,
    reference,
    string,
    timestamp,
)


class SalesOrganization(Entity):
    __tablename__ = "sales_organization"
    odata = EntityOptions(erp_key="code", description="A sales organisation (legal entity or branch).")

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(50, required=True)
    description: Mapped[str] = string(255)
    accountancy_code: Mapped[str] = string(50)
    archived: Mapped[bool] = flag()
    street: Mapped[str] = string(50)
    street2: Mapped[str] = string(50)
    street_number: Mapped[str] = string(50)
    zip: Mapped[str] = string(50)
    city: Mapped[str] = string(50)
    email: Mapped[str] = string(250)
    phone: Mapped[str] = string(50)
    fax: Mapped[str] = string(50)
    url: Mapped[str] = string(50)
    vat_reg_code: Mapped[str] = string(50)


class CompanyType(Entity):
    __tablename__ = "company_type"
    odata = EntityOptions(
        erp_key="code",
        description="A classification of companies (customer, prospect, ...).",
    )

    code: Mapped[str] = string(50, doc="ERP key (an addition to the spec, which only has name).")
    name: Mapped[str] = string(50, required=True)
    description: Mapped[str] = string(255)
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")


class Company(Entity):
    __tablename__ = "company"
    odata = EntityOptions(
        erp_key="code",
        deletion=Deletion.FORBIDDEN,
        deletion_hint="A company cannot be deleted; set archived to true instead.",
        description="A customer or supplier.",
    )

    code: Mapped[str] = string(50, doc="ERP key.")
    name: Mapped[str] = string(64, required=True)
    is_client: Mapped[bool] = flag(doc="Can be used for ordering.")
    is_supplier: Mapped[bool] = flag()
    archived: Mapped[bool] = flag(doc="Hidden from search.")
    notes: Mapped[str] = string()
    create_date: Mapped[datetime] = timestamp(default_now=True, doc="Creation time; the server's clock when not given.")
    company_type_id: Mapped[uuid.UUID] = reference("company_type")
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")
    parent_id: Mapped[uuid.UUID] = reference("company", doc="Parent company.")
    vat_reg_code: Mapped[str] = string(50, doc="VAT number.")
    is_working_address: Mapped[bool] = flag(True, doc="False forbids projects (installations) on this company.")
    phone: Mapped[str] = string(50)
    mobile: Mapped[str] = string(50)
    fax: Mapped[str] = string(50)
    url: Mapped[str] = string(255)
    email: Mapped[str] = string(250)
    street: Mapped[str] = string(100)
    street2: Mapped[str] = string(100)
    street_number: Mapped[str] = string(50)
    zip: Mapped[str] = string(50)
    city: Mapped[str] = string(50)
    db_country_code: Mapped[str] = string(10, doc="ISO country code, e.g. BE.")
    latitude_decimal: Mapped[float] = decimal(minimum=-90, maximum=90)
    longitude_decimal: Mapped[float] = decimal(minimum=-180, maximum=180)
    discount: Mapped[float] = decimal(minimum=0, maximum=100)
    credit_limit: Mapped[float] = decimal(minimum=0)


class Contact(Entity):
    __tablename__ = "contact"
    odata = EntityOptions(erp_key="reference_back_office", description="A person at a company.")

    reference_back_office: Mapped[str] = string(50, doc="ERP key.")
    firstname: Mapped[str] = string(50)
    lastname: Mapped[str] = string(50, required=True, doc="Use lastname for a single full-name field.")
    company_id: Mapped[uuid.UUID] = reference("company", required=True)
    archived: Mapped[bool] = flag()
    functions: Mapped[str] = string(64)
    e_login: Mapped[str] = string(50, doc="Service-desk login.")
    phone: Mapped[str] = string(50)
    mobile: Mapped[str] = string(50)
    email: Mapped[str] = string(250)
    skype: Mapped[str] = string(250)
    private_phone: Mapped[str] = string(50)
    private_mobile: Mapped[str] = string(50)
    private_email: Mapped[str] = string(250)
    notes: Mapped[str] = string()
    birthdate: Mapped[datetime] = timestamp()
    create_date: Mapped[datetime] = timestamp(default_now=True, doc="Creation time; the server's clock when not given.")
