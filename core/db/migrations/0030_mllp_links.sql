-- The MLLP listeners that are up and the connections each holds, as each listener last reported them (every few
-- seconds), for the operations page. A listener that stops reporting is shown as gone, and its rows are cleared.
CREATE TABLE mllp_listeners (
    listener    text PRIMARY KEY,          -- host:pid
    address     text NOT NULL,             -- where it listens
    started_at  timestamptz NOT NULL,
    beat_at     timestamptz NOT NULL
);

CREATE TABLE mllp_links (
    listener    text NOT NULL REFERENCES mllp_listeners (listener) ON DELETE CASCADE,
    peer        text NOT NULL,             -- the sender's address and port
    sender      text,                      -- MSH-3^MSH-4 of its last message
    opened_at   timestamptz NOT NULL,
    last_at     timestamptz,
    messages    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (listener, peer)
);
