"""WhatsApp, SMS and Telegram conversation engine and adapters (issue: bots)."""
