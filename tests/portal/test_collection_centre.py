"""The collection centre over HTTP: register a walk-in, find them by phone and by MRN, order from the catalogue,
give the tubes barcodes, and print labels that a barcode reader (zbarimg, on the page as a printer renders it)
reads back; each record read is audited."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import asyncpg
import httpx

from core.booking import catalogue, slots
from core.booking import service as booking
from core.identity import Role
from core.vault import Vault
from tests.support.days import first_full_day
from tests.support.factories import ensure_centres, make_patient


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_walk_in_to_labelled_tubes(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,
    vault: Vault,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    for tool in ("pdftoppm", "zbarimg"):
        assert shutil.which(tool), f"install {tool}: apt-get install -y poppler-utils zbar-tools (.ci/run does it)"
    async with pool.acquire() as conn:
        await ensure_centres(conn)
    h = auth(await staff_token(Role.PHLEBOTOMIST))
    bad = await client.post("/api/staff/patients", headers=h, json={"name": "Sunita Rao", "sex": "f"})
    assert bad.status_code == 422 and bad.json()["field"] == "sex"
    r = await client.post(
        "/api/staff/patients", headers=h,
        json={"name": "Sunita Devi Rao", "sex": "female", "date_of_birth": "1969-03-08", "phone": "98765 43210"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    person = r.json()["patient"]
    assert person["phone"] == "+919876543210" and person["mrn"].startswith("LP")
    found = await client.get("/api/staff/patients", headers=h, params={"phone": "+91 98765 43210"})
    assert [p["id"] for p in found.json()["patients"]] == [person["id"]]
    by_mrn = await client.get("/api/staff/patients", headers=h, params={"mrn": person["mrn"]})
    assert by_mrn.json()["patients"][0]["name"] == "Sunita Devi Rao"
    order = await client.post(
        "/api/staff/orders",
        headers=h,
        json={"patient_id": person["id"], "centre_id": "CC-1", "tests": ["CBC", "HBA1C", "TSH"]},
    )
    assert order.status_code == 201 and order.json()["sample_types"] == ["serum", "whole_blood_edta"]
    oid = order.json()["order_id"]
    tubes = await client.post(f"/api/staff/orders/{oid}/tubes", headers=h)
    assert tubes.status_code == 201
    codes = sorted(t["barcode"] for t in tubes.json()["tubes"])
    assert len(codes) == 2 and all(c.startswith("LPT") for c in codes)
    again = await client.post(f"/api/staff/orders/{oid}/tubes", headers=h)  # twice: the same two tubes
    assert sorted(t["barcode"] for t in again.json()["tubes"]) == codes
    pdf = await client.get(f"/api/staff/orders/{oid}/labels.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "labels.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(tmp_path / "labels.pdf"), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 2  # one label a tube
    read = subprocess.run(["zbarimg", "-q", "--raw", *map(str, pages)], capture_output=True, text=True, check=True)
    assert sorted(read.stdout.split()) == codes
    text = subprocess.run(["pdftotext", str(tmp_path / "labels.pdf"), "-"], capture_output=True, text=True).stdout
    assert "SDR" in text and "08-03-1969" in text and "Sunita" not in text  # initials and birth date only
    async with pool.acquire() as conn:
        reads = await conn.fetch(
            "SELECT summary->>'purpose' AS purpose FROM audit_log WHERE action = 'patient.read' AND patient_id = $1",
            person["id"],
        )
    assert "tube labels" in [r["purpose"] for r in reads]
    none = await client.get("/api/staff/patients", headers=h, params={"phone": "+91 98765 43210", "mrn": "x"})
    assert none.status_code == 422


async def test_a_home_collection_becomes_an_order_with_the_scanned_tubes(
    client: httpx.AsyncClient,
    staff_token,
    pool: asyncpg.Pool,
    vault: Vault,  # type: ignore[no-untyped-def]
) -> None:
    phone = "+919822233344"
    async with pool.acquire() as conn:
        await ensure_centres(conn)
        await conn.execute("INSERT INTO served_pincodes VALUES ('400050', 'CC-1', 'Bandra West')")
        await slots.ensure(conn, first_full_day())
        slot = await conn.fetchval("SELECT id FROM slots WHERE kind = 'home' ORDER BY starts_at LIMIT 1")
        basic = [i for i in await catalogue.items(conn) if i.code == "PKG-BASIC"]  # CBC, FBS, URINE
        booked = await booking.book(conn, vault, phone=phone, slot_id=slot, chosen=basic, channel="whatsapp",
                                    pincode="400050", address="Flat 4, Sea View")  # fmt: skip
        mother = await make_patient(conn, vault, phone=phone, name="Lata Home")
        stranger = await make_patient(conn, vault, name="Not On The Phone")
    h = auth(await staff_token(Role.PHLEBOTOMIST))
    url = f"/api/staff/bookings/{booked.ref}/collect"
    tubes = [{"barcode": "HOME-EDTA-01", "sample_type": "whole_blood_edta"},
             {"barcode": "HOME-FLUO-01", "sample_type": "fluoride_plasma"}]  # fmt: skip
    short = await client.post(url, headers=h, json={"patient_id": mother.id, "tubes": tubes})
    assert short.status_code == 422 and "urine" in short.json()["message"], short.text  # all or nothing
    tubes.append({"barcode": "HOME-URIN-01", "sample_type": "urine"})
    wrong = await client.post(url, headers=h, json={"patient_id": stranger.id, "tubes": tubes})
    assert wrong.status_code == 422 and wrong.json()["field"] == "patient_id"
    done = await client.post(url, headers=h, json={"patient_id": mother.id, "tubes": tubes})
    assert done.status_code == 201, done.text
    assert sorted(done.json()["tubes"]) == ["HOME-EDTA-01", "HOME-FLUO-01", "HOME-URIN-01"]
    again = await client.post(url, headers=h, json={"patient_id": mother.id, "tubes": tubes})  # scanned twice
    assert again.json()["order_id"] == done.json()["order_id"]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT status FROM bookings") == "collected"
        assert await conn.fetchval("SELECT count(*) FROM orders WHERE patient_id = $1", mother.id) == 1
        states = await conn.fetch("SELECT state, centre_id FROM samples WHERE patient_id = $1", mother.id)
        assert {(r["state"], r["centre_id"]) for r in states} == {("collected", "CC-1")}
