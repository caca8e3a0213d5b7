"""The booking conversation: tests or a package, home (pincode, address) or a centre, a day, a time with room,
a confirmation; and "my bookings": change the time or cancel."""

from __future__ import annotations

from datetime import date

from bots import intents
from bots.turn import Flow, Turn, day, when
from core import i18n
from core.booking import catalogue, slots
from core.booking import service as booking
from core.errors import InvalidInput
from core.labtime import LAB_TZ


class BookingFlow(Flow):
    # --- booking ------------------------------------------------------------------------------------------

    async def _offer_items(self, turn: Turn) -> list[str]:
        items = await self._reference.items(turn.conn)
        lines = "\n".join(f"{i} {it.label(turn.lang)}: {i18n.rupees(turn.lang, it.price_paise)}"
                          for i, it in enumerate(items, 1))  # fmt: skip
        turn.session.state = "book_items"
        return [turn.say("items", lines=lines)]

    async def _book_items(self, turn: Turn) -> list[str]:
        items = await self._reference.items(turn.conn)
        picked = intents.numbers(turn.msg.text)
        if not picked or any(not 1 <= n <= len(items) for n in picked):
            return [turn.say("items_bad")]
        chosen = [items[n - 1] for n in dict.fromkeys(picked)]
        turn.session.data = {"items": [c.code for c in chosen]}
        turn.session.state = "book_where"
        return [turn.say("where")]

    async def _book_where(self, turn: Turn) -> list[str]:
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            turn.session.state = "book_pincode"
            return [turn.say("pincode")]
        if choice == [2]:
            return await self._offer_centres(turn)
        return [turn.say("where")]

    async def _offer_centres(self, turn: Turn) -> list[str]:
        centres = await self._reference.centres(turn.conn, turn.lang)
        turn.session.state = "book_centre"
        return [turn.say("centre", lines="\n".join(f"{i} {name}" for i, (_, name) in enumerate(centres, 1)))]

    async def _book_pincode(self, turn: Turn) -> list[str]:
        text = intents.normalize(turn.msg.text).replace(" ", "")
        if text == "2":
            return await self._offer_centres(turn)
        if not (len(text) == 6 and text.isdigit() and text[0] != "0"):
            return [turn.say("pincode_bad")]
        served = await catalogue.centre_for_pincode(turn.conn, text)
        if served is None:
            turn.session.data["kind"] = None
            return [turn.say("pincode_unserved", pincode=text)]
        turn.session.data.update(kind="home", centre=served[0], pincode=text)
        turn.session.state = "book_address"
        return [turn.say("address", area=served[1])]

    async def _book_address(self, turn: Turn) -> list[str]:
        address = " ".join(turn.msg.text.split())
        if len(address) < 10 or len(address) > 300:
            return [turn.say("address_bad")]
        turn.session.data["address"] = address
        return await self._offer_days(turn)

    async def _book_centre(self, turn: Turn) -> list[str]:
        centres = await self._reference.centres(turn.conn, turn.lang)
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(centres):
            return await self._offer_centres(turn)
        turn.session.data.update(kind="centre", centre=centres[choice[0] - 1][0])
        return await self._offer_days(turn)

    async def _offer_days(self, turn: Turn) -> list[str]:
        d = turn.session.data
        days = await slots.open_days(turn.conn, d["kind"], d["centre"], turn.now)
        if not days:
            return self._to_menu(turn, turn.say("no_days"))
        d["days"] = [x.isoformat() for x in days]
        turn.session.state = "book_day"
        return [turn.say("day", lines="\n".join(f"{i} {day(x, turn.lang)}" for i, x in enumerate(days, 1)))]

    async def _book_day(self, turn: Turn) -> list[str]:
        days = turn.session.data.get("days", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(days):
            return await self._offer_days(turn)
        turn.session.data["day"] = days[choice[0] - 1]
        return await self._offer_slots(turn)

    async def _offer_slots(self, turn: Turn, *prefix: str) -> list[str]:
        d = turn.session.data
        chosen = date.fromisoformat(d["day"])
        found = await slots.open_slots(turn.conn, d["kind"], d["centre"], chosen, turn.now)
        if not found:
            return await self._offer_days(turn)
        d["slots"] = [s.id for s in found]
        turn.session.state = "book_slot"
        lines = "\n".join(f"{i} {s.starts_at.astimezone(LAB_TZ):%H:%M} ({s.free})" for i, s in enumerate(found, 1))
        return [*prefix, turn.say("slot", day=day(chosen, turn.lang), lines=lines)]

    async def _book_slot(self, turn: Turn) -> list[str]:
        ids = turn.session.data.get("slots", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(ids):
            return await self._offer_slots(turn)
        turn.session.data["slot"] = ids[choice[0] - 1]
        if turn.session.data.get("booking"):  # rescheduling: no need to confirm the tests again
            return await self._do_reschedule(turn)
        return await self._confirm(turn)

    async def _chosen(self, turn: Turn) -> list[catalogue.Item]:
        by_code = {i.code: i for i in await self._reference.items(turn.conn)}
        return [by_code[c] for c in turn.session.data.get("items", []) if c in by_code]

    def _where(self, turn: Turn, kind: str, centre_name: str) -> str:
        d = turn.session.data
        return turn.say("home_where", pincode=d.get("pincode")) if kind == "home" else centre_name

    async def _centre_name(self, turn: Turn, centre_id: str) -> str:
        return dict(await self._reference.centres(turn.conn, turn.lang)).get(centre_id, centre_id)

    async def _confirm(self, turn: Turn) -> list[str]:
        d = turn.session.data
        chosen = await self._chosen(turn)
        slot = await slots.get(turn.conn, d["slot"])
        if slot is None:  # gone since it was offered: offer the day's times again
            return await self._offer_slots(turn)
        starts = slot.starts_at
        turn.session.state = "book_confirm"
        return [turn.say("confirm", items=", ".join(i.label(turn.lang) for i in chosen),
                         price=i18n.rupees(turn.lang, sum(i.price_paise for i in chosen)),
                         where=self._where(turn, d["kind"], await self._centre_name(turn, d["centre"])),
                         when=when(starts, turn.lang))]  # fmt: skip

    async def _book_confirm(self, turn: Turn) -> list[str]:
        if intents.is_no(turn.msg.text):
            return self._to_menu(turn, turn.say("not_booked"))
        if not intents.is_yes(turn.msg.text):
            return await self._confirm(turn)
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("help"))
        d = turn.session.data
        chosen = await self._chosen(turn)
        try:
            made = await booking.book(turn.conn, self._vault, phone=turn.msg.phone or "", slot_id=d["slot"],
                                      chosen=chosen, channel=turn.msg.channel, pincode=d.get("pincode"),
                                      address=d.get("address"), now=turn.now, meta=turn.meta)  # fmt: skip
        except (booking.SlotFull, InvalidInput):  # taken, or no longer bookable: the next step is another time
            return await self._offer_slots(turn, turn.say("slot_full"))
        where = self._where(turn, made.kind, await self._centre_name(turn, made.centre_id))
        return self._to_menu(turn, turn.say("booked", ref=made.ref, items=", ".join(i.label(turn.lang) for i in chosen),
                                            where=where, when=when(made.starts_at, turn.lang),
                                            price=i18n.rupees(turn.lang, made.price_paise)))[:1]  # fmt: skip

    # --- my bookings: reschedule or cancel ---------------------------------------------------------------

    async def _list_bookings(self, turn: Turn) -> list[str]:
        mine = await booking.upcoming(turn.conn, turn.lookup, turn.now) if turn.lookup else []
        if not mine:
            return self._to_menu(turn, turn.say("no_bookings"))[:1]
        turn.session.data = {"bookings": [b.id for b in mine]}
        turn.session.state = "manage_pick"
        lines = "\n".join(f"{i} {b.ref}: {when(b.starts_at, turn.lang)}" for i, b in enumerate(mine, 1))
        return [turn.say("bookings", lines=lines)]

    async def _picked_booking(self, turn: Turn, booking_id: str) -> booking.Booking | None:
        mine = await booking.upcoming(turn.conn, turn.lookup, turn.now) if turn.lookup else []
        return next((b for b in mine if b.id == booking_id), None)

    async def _manage_pick(self, turn: Turn) -> list[str]:
        ids = turn.session.data.get("bookings", [])
        choice = intents.numbers(turn.msg.text)
        if len(choice) != 1 or not 1 <= choice[0] <= len(ids):
            return await self._list_bookings(turn)
        b = await self._picked_booking(turn, ids[choice[0] - 1])
        if b is None:
            return await self._list_bookings(turn)
        turn.session.data = {"booking": b.id, "kind": b.kind, "centre": b.centre_id}
        turn.session.state = "manage_action"
        return [turn.say("manage", ref=b.ref, when=when(b.starts_at, turn.lang))]

    async def _manage_action(self, turn: Turn) -> list[str]:
        b = await self._picked_booking(turn, turn.session.data.get("booking", ""))
        if b is None or turn.lookup is None:
            return await self._list_bookings(turn)
        choice = intents.numbers(turn.msg.text)
        if choice == [1]:
            return await self._offer_days(turn)
        if choice == [2]:
            await booking.cancel(turn.conn, phone_lookup=turn.lookup, booking_id=b.id, meta=turn.meta)
            return self._to_menu(turn, turn.say("cancelled", ref=b.ref))[:1]
        return [turn.say("manage", ref=b.ref, when=when(b.starts_at, turn.lang))]

    async def _do_reschedule(self, turn: Turn) -> list[str]:
        if turn.lookup is None:
            return self._to_menu(turn, turn.say("no_phone_records"))[:1]
        d = turn.session.data
        try:
            moved = await booking.reschedule(turn.conn, phone_lookup=turn.lookup, booking_id=d["booking"],
                                             slot_id=d["slot"], now=turn.now, meta=turn.meta)  # fmt: skip
        except booking.SlotFull:
            return await self._offer_slots(turn, turn.say("slot_full"))
        return self._to_menu(turn, turn.say("rescheduled", ref=moved.ref, when=when(moved.starts_at, turn.lang)))[:1]
