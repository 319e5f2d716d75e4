-- Local development only (docker-compose): one database per deployable unit on one server.
-- Runs once, when the postgres volume is first initialised. Each unit owns its database and
-- creates its schema with its own migrate step (`python -m <unit> migrate`).
CREATE DATABASE atrium_client OWNER atrium;
CREATE DATABASE atrium_scheduling OWNER atrium;
CREATE DATABASE atrium_membership_billing OWNER atrium;
CREATE DATABASE atrium_portal_requests OWNER atrium;
CREATE DATABASE atrium_notification OWNER atrium;
CREATE DATABASE atrium_gateway OWNER atrium;
