-- The client's own x-request-id, kept as data: echoed and searchable, never a key (request_id is the gateway's).
ALTER TABLE spend ADD COLUMN client_request_id TEXT;
CREATE INDEX spend_client_request_id ON spend (client_request_id) WHERE client_request_id IS NOT NULL;
