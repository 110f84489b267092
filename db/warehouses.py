"""Warehouse rules: create, change, archive and delete warehouses.

A warehouse with stock history is never deleted, only archived, so its ledger entries keep their
warehouse. Error fields are named as the API's input fields (camelCase).
"""

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes as change_log
from db.catalog import KEEP, Keep, _assign, _Checks, _given, _guarded, _plural, _stamp
from db.errors import DomainError, Duplicate, InUse, NotFound
from db.lengths import MAX_ADDRESS_LENGTH, MAX_NAME_LENGTH, MAX_WAREHOUSE_CODE_LENGTH
from db.models import InventoryTransaction, StockLevel, Warehouse

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")


def warehouse_fields(*, code: Any, name: Any, address: Any, is_active: Any) -> dict[str, Any]:
    """A warehouse's given fields checked and cleaned (the code uppercase), as every write takes them."""
    check = _Checks()
    cleaned_code = check.text("code", code, max_length=MAX_WAREHOUSE_CODE_LENGTH)
    if isinstance(cleaned_code, str):
        cleaned_code = cleaned_code.upper()
        if len(cleaned_code) <= MAX_WAREHOUSE_CODE_LENGTH and not CODE_PATTERN.fullmatch(cleaned_code):
            check.fail(
                "code", "`code` may hold only letters, digits, '_' and '-', and must start with a letter or digit."
            )
    fields = _given(
        {
            "code": cleaned_code,
            "name": check.text("name", name, max_length=MAX_NAME_LENGTH),
            "address": check.text("address", address, max_length=MAX_ADDRESS_LENGTH, required=False),
            "is_active": check.flag("isActive", is_active),
        }
    )
    check.done()
    return fields


async def _get(session: AsyncSession, warehouse_id: int) -> Warehouse:
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound("There is no warehouse with this ID.", field="id")
    return warehouse


async def _check_code_free(session: AsyncSession, code: str, exclude_id: int | None = None) -> None:
    taken = await session.scalar(select(Warehouse.id).where(Warehouse.code == code, Warehouse.id != exclude_id))
    if taken is not None:
        raise Duplicate(f"Another warehouse already has the code {code}.", field="code")


def _conflicts(code: str) -> dict[str, DomainError]:
    duplicate = Duplicate(f"Another warehouse already has the code {code}.", field="code")
    # PostgreSQL names the constraint; SQLite names the column.
    return {"uq_warehouses_code": duplicate, "warehouses.code": duplicate}


async def create_warehouse(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    address: str | None = None,
    is_active: bool = True,
    created_by_id: int | None = None,
) -> Warehouse:
    """Add a warehouse; its code is stored trimmed and uppercase and must be unique. `created_by_id` is
    recorded as its creator and as the last to change it."""
    fields = warehouse_fields(code=code, name=name, address=address, is_active=is_active)
    await _check_code_free(session, fields["code"])
    warehouse = Warehouse(**fields, created_by_id=created_by_id, updated_by_id=created_by_id)
    async with _guarded(session, _conflicts(fields["code"])):
        session.add(warehouse)
    await change_log.created(session, warehouse)
    return warehouse


async def update_warehouse(
    session: AsyncSession,
    *,
    warehouse_id: int,
    code: str | Keep = KEEP,
    name: str | Keep = KEEP,
    address: str | None | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    updated_by_id: int | None = None,
) -> Warehouse:
    """Change the given fields of a warehouse; None clears the address. Deactivating it is archiving.
    `updated_by_id` is recorded as the last to change it."""
    warehouse = await _get(session, warehouse_id)
    before = change_log.snapshot(warehouse)
    changes = warehouse_fields(code=code, name=name, address=address, is_active=is_active)
    _stamp(warehouse, changes, updated_by_id)
    if changes.get("code", warehouse.code) != warehouse.code:
        await _check_code_free(session, changes["code"], exclude_id=warehouse.id)
    async with _guarded(session, _conflicts(changes.get("code", warehouse.code))):
        _assign(warehouse, changes)
    await change_log.record(session, warehouse, before, change_log.snapshot(warehouse))
    return warehouse


async def archive_warehouse(
    session: AsyncSession, *, warehouse_id: int, updated_by_id: int | None = None
) -> Warehouse:
    """Mark a warehouse inactive; its stock levels and history stay. Archiving it again changes nothing.
    `updated_by_id` is recorded as the last to change it (when archiving changed it)."""
    warehouse = await _get(session, warehouse_id)
    if warehouse.is_active:
        before = change_log.snapshot(warehouse)
        warehouse.is_active = False
        warehouse.updated_by_id = updated_by_id
        await session.flush()
        await change_log.record(session, warehouse, before, change_log.snapshot(warehouse))
    return warehouse


async def delete_warehouse(session: AsyncSession, *, warehouse_id: int) -> Warehouse:
    """Delete a warehouse that has never held stock (no stock levels and no ledger entries)."""
    warehouse = await _get(session, warehouse_id)
    levels = await session.scalar(select(func.count()).where(StockLevel.warehouse_id == warehouse.id)) or 0
    entries = (
        await session.scalar(select(func.count()).where(InventoryTransaction.warehouse_id == warehouse.id)) or 0
    )
    if levels or entries:
        history = [
            _plural(n, one, many)
            for n, one, many in ((levels, "stock level", "stock levels"), (entries, "ledger entry", "ledger entries"))
            if n
        ]
        raise InUse(
            f"Warehouse {warehouse.code} has {' and '.join(history)}; archive it instead.", field="id"
        )
    in_use = InUse(f"Warehouse {warehouse.code} was just given stock; archive it instead.", field="id")
    await change_log.deleted(session, warehouse)
    async with _guarded(session, {"foreign key": in_use}):
        await session.delete(warehouse)
    return warehouse
