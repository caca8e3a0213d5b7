-- The id of the request (HTTP, MLLP, a job) whose change wrote each event, so that it can be followed through the
-- relay, the bus and the worker in the logs (issue 20). Ids only.
ALTER TABLE outbox ADD COLUMN request_id text;
