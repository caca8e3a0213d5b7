"""The lab network's local time zone: shifts, report times and ETAs are said in it."""

from zoneinfo import ZoneInfo

LAB_TZ = ZoneInfo("Asia/Kolkata")
