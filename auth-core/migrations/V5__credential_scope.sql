-- Credential scope: a personal access token names the services it may open (JSON list of slugs;
-- tokens made before this open none), and a service routed by path prefix on the gateway's own
-- hosts must opt in to sharing the gateway's origin.

ALTER TABLE personal_access_tokens ADD COLUMN services TEXT NOT NULL DEFAULT '[]';
ALTER TABLE services ADD COLUMN share_gateway_origin BOOLEAN NOT NULL DEFAULT FALSE;
