-- Booking (home collection or a centre visit), its capacity, and each person's messaging consent.

-- Pincodes where phlebotomists visit homes, and the collection centre whose team covers each.
CREATE TABLE served_pincodes (
    pincode    text PRIMARY KEY CHECK (pincode ~ '^[1-9][0-9]{5}$'),
    centre_id  text NOT NULL REFERENCES centres (id),
    area       text NOT NULL
);

-- Packages: named sets of tests at one price.
CREATE TABLE packages (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    name_hi     text NOT NULL,
    tests       text[] NOT NULL,
    price_paise integer NOT NULL CHECK (price_paise >= 0)
);
INSERT INTO packages (code, name, name_hi, tests, price_paise) VALUES
    ('PKG-BASIC',   'Basic health check (CBC, glucose, urine)',    'बेसिक हेल्थ चेक (CBC, शुगर, यूरिन)',     '{CBC,FBS,URINE}', 49900),
    ('PKG-DIABETES','Diabetes check (glucose, HbA1c, kidney)',     'डायबिटीज़ जाँच (शुगर, HbA1c, किडनी)',  '{FBS,HBA1C,KFT}', 99900),
    ('PKG-FULL',    'Full body check (CBC, lipid, liver, kidney, thyroid, glucose)',
                    'फुल बॉडी चेक (CBC, लिपिड, लिवर, किडनी, थायरॉइड, शुगर)', '{CBC,LIPID,LFT,KFT,TSH,FBS}', 199900);

ALTER TABLE test_catalogue ADD COLUMN name_hi text;
UPDATE test_catalogue SET name_hi = CASE code
    WHEN 'CBC' THEN 'कम्प्लीट ब्लड काउंट (CBC)' WHEN 'LIPID' THEN 'लिपिड प्रोफ़ाइल' WHEN 'FBS' THEN 'फास्टिंग ब्लड शुगर'
    WHEN 'HBA1C' THEN 'HbA1c (तीन महीने की औसत शुगर)' WHEN 'LFT' THEN 'लिवर फंक्शन टेस्ट' WHEN 'KFT' THEN 'किडनी फंक्शन टेस्ट'
    WHEN 'TSH' THEN 'थायरॉइड (TSH)' WHEN 'URINE' THEN 'यूरिन रूटीन' ELSE name END;

-- Capacity lives in the row and is enforced by the database: a booking increments `booked`, and the CHECK
-- refuses the one past capacity, so two people racing for the last place cannot both get it.
CREATE TABLE slots (
    id         bigserial PRIMARY KEY,
    centre_id  text NOT NULL REFERENCES centres (id),
    kind       text NOT NULL CHECK (kind IN ('home', 'centre')),
    starts_at  timestamptz NOT NULL,
    capacity   integer NOT NULL CHECK (capacity >= 0),
    booked     integer NOT NULL DEFAULT 0,
    CHECK (booked >= 0 AND booked <= capacity),
    UNIQUE (centre_id, kind, starts_at)
);
CREATE INDEX slots_open ON slots (kind, starts_at);

CREATE TABLE bookings (
    id           uuid PRIMARY KEY,
    ref          text NOT NULL UNIQUE,
    phone_lookup text NOT NULL,
    phone_enc    bytea NOT NULL,  -- where reminders go; encrypted like every phone number
    kind         text NOT NULL CHECK (kind IN ('home', 'centre')),
    slot_id      bigint NOT NULL REFERENCES slots (id),
    pincode      text,
    address_enc  bytea,
    items        text[] NOT NULL,
    tests        text[] NOT NULL,
    price_paise  integer NOT NULL,
    status       text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    channel      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_phone ON bookings (phone_lookup, status);

-- One consent record per person (their phone's lookup hash), whatever the channel: STOP on SMS also stops
-- WhatsApp and Telegram reminders. Report messages follow `reports`, which the person chooses.
CREATE TABLE consents (
    phone_lookup text PRIMARY KEY,
    reminders    boolean NOT NULL DEFAULT true,
    marketing    boolean NOT NULL DEFAULT false,
    reports      boolean NOT NULL DEFAULT true,
    language     text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'hi')),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_via  text NOT NULL
);

-- Delivery reports from messaging providers (Twilio's status callbacks), one row per message and status.
CREATE TABLE provider_statuses (
    provider    text NOT NULL,
    message_id  text NOT NULL,
    status      text NOT NULL,
    error_code  text,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, message_id, status)
);

-- A Telegram chat linked to the phone number its owner shared (Telegram vouches for a contact whose user id is
-- the sender's own). The chat reaches the same person, consent and patients as that phone.
CREATE TABLE telegram_links (
    chat_id      bigint PRIMARY KEY,
    phone_lookup text NOT NULL,
    phone_enc    bytea NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX telegram_links_phone ON telegram_links (phone_lookup);

-- One row per reminder sent (booking, time, which reminder), claimed before sending: a job that runs twice
-- sends once.
CREATE TABLE reminders_sent (
    booking_id uuid NOT NULL REFERENCES bookings (id),
    slot_id    bigint NOT NULL,
    kind       text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (booking_id, slot_id, kind)
);
