"""Users: technicians and office staff (reference.md §4.18). Logins live in ``system.Credential``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Mapped

from odyssee.model.base import (
    Deletion,
    Entity,
    EntityOptions,
    flag,
    reference,
    string,
    timestamp,
)


class User(Entity):
    __tablename__ = "user"
    odata = EntityOptions(
        erp_key="code",
        unique=("username",),
        deletion=Deletion.FORBIDDEN,
        deletion_hint="A user cannot be deleted; set archived to true instead.",
        description="A technician or office user.",
    )

    code: Mapped[str] = string(50, doc="ERP key.")
    username: Mapped[str] = string(255, required=True, doc="Normally the e-mail address; unique per tenant.")
    firstname: Mapped[str] = string(255)
    lastname: Mapped[str] = string(255, required=True)
    email: Mapped[str] = string(250)
    phone: Mapped[str] = string(50)
    mobile: Mapped[str] = string(50)
    archived: Mapped[bool] = flag()
    disabled: Mapped[bool] = flag(doc="Temporarily cannot log on.")
    functions: Mapped[str] = string(255)
    notes: Mapped[str] = string()
    birthdate: Mapped[datetime] = timestamp()
    sales_organization_id: Mapped[uuid.UUID] = reference("sales_organization")
    is_team_leader: Mapped[bool] = flag()
    team_leader_user_id: Mapped[uuid.UUID] = reference("user")
    emergency_contact: Mapped[str] = string(64)
    skype: Mapped[str] = string(50)
    nationality: Mapped[str] = string(255)
    place_of_birth: Mapped[str] = string(255)
    bankaccount: Mapped[str] = string(50)
    social_security: Mapped[str] = string(50)
